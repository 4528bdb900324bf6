"""The Dockerfile: runs `autocoder serve`, has git, bubblewrap and CA certificates, runs as a
non-root user, holds no secret, and installs the locked dependency versions. Read statically
here; built where a container engine answers."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from app.executors.docker import engine_answers

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
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(args for word, args in steps if word == "RUN")
    for package in ("git", "bubblewrap", "ca-certificates"):
        assert re.search(rf"apt-get install .*\b{package}\b", runs), package
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


def test_the_image_builds_and_answers_where_an_engine_runs() -> None:
    answers, why = engine_answers()
    if not answers:
        pytest.skip(f"no container engine answers here: {why}")
    image = "autocoder:test"
    built = subprocess.run(
        ["docker", "build", "-t", image, "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    help_text = subprocess.run(
        ["docker", "run", "--rm", image, "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "serve" in help_text
    tools = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--entrypoint",
            "sh",
            image,
            "-c",
            "id -u; git --version; bwrap --version",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert tools[0] != "0"
    history = subprocess.run(
        ["docker", "history", "--no-trunc", image], capture_output=True, text=True, check=True
    ).stdout
    assert "PRIVATE KEY" not in history
