"""The Dockerfile: runs `autocoder serve`, has git, bubblewrap and CA certificates, runs as a
non-root user, holds no secret, installs the locked dependency versions, and builds on a base
image named by a build argument (the official Python image for users, a debootstrapped Debian
where no registry is reachable). Read statically here; built and run under a real engine
(podman in CI, see tests/app/container_harness.py)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from packaging.utils import canonicalize_name

from tests.app.container_harness import project_image
from tests.lockfile import LOCK, read_lock

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
SECRETISH = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PRIVATE)", re.IGNORECASE)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text()
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        word, _, rest = stripped.partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def test_base_image_packages_user_and_entrypoint() -> None:
    steps = instructions()
    assert steps[:2] == [("ARG", "BASE=python:3.11-slim"), ("FROM", "${BASE}")]
    [apt] = [args for word, args in steps if word == "RUN" and "apt-get install" in args]
    for package in ("git", "bubblewrap", "ca-certificates", "python3-venv"):
        assert re.search(rf"\b{package}\b", apt), package
    runs = " ".join(args for word, args in steps if word == "RUN")
    assert "pip install" in runs
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0"), "runs as a non-root user"
    assert ("ENTRYPOINT", '["autocoder"]') in steps
    cmd = [json.loads(args) for word, args in steps if word == "CMD"]
    assert cmd == [["serve", "--host", "0.0.0.0"]]


def test_no_secret_in_any_layer() -> None:
    for word, args in instructions():
        if word in ("ENV", "ARG", "LABEL"):
            assert not SECRETISH.search(args), f"{word} {args}: secrets come at run time"
        if word in ("COPY", "ADD"):
            assert not re.search(r"\.env|\.pem|\.key|\.db\b", args), args
            assert "tests" not in args.split(), "the test bench is not shipped"
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for pattern in ("**", "**/.env", "**/*.pem", "**/*.db"):
        assert pattern in ignored


def test_every_package_the_project_installs_is_copied() -> None:
    copied = {args.split()[0] for word, args in instructions() if word == "COPY"}
    for package in ("autocoder", "app", "runner", "action"):
        assert package in copied
    assert "pyproject.toml" in copied


def test_dependencies_are_installed_at_the_locked_versions() -> None:
    """The image installs autocoder constrained by the repository's one lock, copied in first and
    not excluded from the build context."""
    steps = instructions()
    copies = [args.split()[:-1] for word, args in steps if word == "COPY"]
    assert any("requirements.lock" in sources for sources in copies)
    installs = [args for word, args in steps if word == "RUN" and "pip install" in args]
    assert installs
    for args in installs:
        assert re.search(r"(-c|--constraint)[ =]requirements\.lock\b", args), args
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "!requirements.lock" in ignored


def test_the_image_builds_on_the_debootstrapped_base_and_answers() -> None:
    built = project_image()
    engine, image = built.engine, built.image
    help_text = subprocess.run(
        [engine, "run", "--rm", image, "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "serve" in help_text
    tools = subprocess.run(
        [
            engine,
            "run",
            "--rm",
            "--entrypoint",
            "sh",
            image,
            "-c",
            "id -u; git --version; bwrap --version; python --version; test ! -s /run/host-ca.crt",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert tools[0] != "0", "runs as a non-root user"
    assert tools[1].startswith("git version")
    assert tools[2].startswith("bubblewrap")
    assert tools[3].startswith("Python 3.11")
    history = subprocess.run(
        [engine, "history", "--no-trunc", image], capture_output=True, text=True, check=True
    ).stdout
    assert "PRIVATE KEY" not in history


def test_the_image_holds_exactly_the_locked_versions() -> None:
    built = project_image()
    listed = subprocess.run(
        [built.engine, "run", "--rm", "--entrypoint", "pip", built.image, "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = {canonicalize_name(d["name"]): d["version"] for d in json.loads(listed)}
    pins = {pin.name: pin.version for pin in read_lock(LOCK.read_text())}
    checked = {name: version for name, version in installed.items() if name in pins}
    assert {"pygithub", "fastapi", "claude-agent-sdk", "sqlalchemy"} <= checked.keys()
    wrong = {n: (v, pins[n]) for n, v in checked.items() if v != pins[n]}
    assert not wrong, f"installed vs locked: {wrong}"
    unlocked = set(installed) - set(pins) - {"autocoder", "pip", "setuptools", "wheel"}
    assert not unlocked, f"installed but not in requirements.lock: {sorted(unlocked)}"
