"""A container engine and the project's image for the container tests.

The engine is `AUTOCODER_CONTAINER_ENGINE` when set, else podman or docker, whichever answers.
The image is built from the working tree's Dockerfile once per test process (the engine's layer
cache makes a rebuild after a source change take seconds), on `AUTOCODER_BASE_IMAGE`, else the
debootstrapped `localhost/debian:bookworm` that `.ci/podman-setup.sh` makes, else the Dockerfile's
default. In CI (`CI=true`, where `.ci/run` installs podman) a missing engine or base is a failure;
elsewhere the tests skip and say what is missing and how to get it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.executors.docker import engine_answers

ROOT = Path(__file__).resolve().parents[2]
TEST_IMAGE = "localhost/autocoder:test"
DEBOOTSTRAPPED_BASE = "localhost/debian:bookworm"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
SETUP_HINT = "run .ci/podman-setup.sh as root (it installs podman and builds the images)"


@dataclass(frozen=True)
class BuiltImage:
    engine: str  # the CLI: podman or docker
    image: str
    base: str
    build_seconds: float


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> None:
    """Skip outside CI; fail in CI, where .ci/run installs everything these tests need."""
    message = f"{reason}; {SETUP_HINT}"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


@functools.cache
def _engine() -> tuple[str | None, str]:
    named = os.environ.get("AUTOCODER_CONTAINER_ENGINE")
    candidates = [named] if named else ["podman", "docker"]
    reasons = []
    for candidate in candidates:
        if shutil.which(candidate) is None:
            reasons.append(f"no `{candidate}` on PATH")
            continue
        answers, why = engine_answers(candidate)
        if answers:
            return candidate, ""
        reasons.append(why)
    return None, "; ".join(reasons)


def container_engine() -> str:
    """The engine's CLI, or skip/fail naming what is missing."""
    engine, why = _engine()
    if engine is None:
        missing(f"no container engine answers here ({why})")
    assert engine is not None
    return engine


def image_exists(engine: str, image: str) -> bool:
    done = subprocess.run(
        [engine, "image", "inspect", image], capture_output=True, check=False, timeout=60
    )
    return done.returncode == 0


@functools.cache
def _build(engine: str) -> BuiltImage | str:
    base = os.environ.get("AUTOCODER_BASE_IMAGE")
    if not base:
        if image_exists(engine, DEBOOTSTRAPPED_BASE):
            base = DEBOOTSTRAPPED_BASE
        elif in_ci() or engine == "podman":
            # No registry is reachable here: only a base made from Debian's packages will do.
            return f"the base image {DEBOOTSTRAPPED_BASE} is absent"
        else:
            base = "python:3.11-slim"
    command = [engine, "build", "--network=host", "--build-arg", f"BASE={base}"]
    if engine == "podman" and HOST_CA.exists():
        # pip reaches PyPI through this host's CA bundle, mounted for the build only.
        command += ["--volume", f"{HOST_CA}:/run/host-ca.crt:ro"]
        command += ["--build-arg", "PIP_CERT=/run/host-ca.crt"]
    command += ["--tag", TEST_IMAGE, str(ROOT)]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-4000:]
        raise AssertionError(f"`{' '.join(command)}` failed:\n{output}")
    return BuiltImage(engine, TEST_IMAGE, base, time.monotonic() - started)


def project_image() -> BuiltImage:
    """The image built from this working tree (once per test process)."""
    engine = container_engine()
    built = _build(engine)
    if isinstance(built, str):
        missing(built)
    assert isinstance(built, BuiltImage)
    return built
