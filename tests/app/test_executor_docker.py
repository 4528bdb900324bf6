"""The docker executor: the `docker run` command, table-tested; a real container only where a
container engine answers."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.executors.base import LaunchSpec
from app.executors.docker import (
    DockerExecutor,
    DockerLimits,
    DockerOptions,
    docker_run_command,
    engine_answers,
    sqlite_directory,
)

SECRET_PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEsecret\n-----END RSA PRIVATE KEY-----\n"
SPEC = LaunchSpec(
    job_id=12,
    attempt=2,
    worker_id="host:7:abc/0",
    lease_s=60,
    heartbeat_s=20,
    env={
        "AUTOCODER_GITHUB_PRIVATE_KEY": SECRET_PEM,
        "ANTHROPIC_API_KEY": "sk-ant-very-secret",
        "AUTOCODER_ENGINE": "claude",
    },
)


def _pairs(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == flag]


CASES = [
    pytest.param(
        DockerOptions(),
        "sqlite:////var/lib/autocoder/autocoder.db",
        {
            "image": "autocoder:latest",
            "--cpus": ["2"],
            "--memory": ["4g"],
            "--memory-swap": ["4g"],
            "--pids-limit": ["1024"],
            "--network": ["bridge"],
            "--volume": ["/var/lib/autocoder:/var/lib/autocoder"],
            "--env": [
                "ANTHROPIC_API_KEY",
                "AUTOCODER_DATABASE_URL",
                "AUTOCODER_ENGINE",
                "AUTOCODER_GITHUB_PRIVATE_KEY",
            ],
        },
        id="defaults-sqlite",
    ),
    pytest.param(
        DockerOptions(
            image="ghcr.io/acme/autocoder:1.2",
            limits=DockerLimits(cpus=0.5, memory="512m", pids=256),
            network="host",
        ),
        "postgresql+psycopg://autocoder:pw@db/autocoder",
        {
            "image": "ghcr.io/acme/autocoder:1.2",
            "--cpus": ["0.5"],
            "--memory": ["512m"],
            "--memory-swap": ["512m"],
            "--pids-limit": ["256"],
            "--network": ["host"],
            "--volume": [],
            "--env": [
                "ANTHROPIC_API_KEY",
                "AUTOCODER_DATABASE_URL",
                "AUTOCODER_ENGINE",
                "AUTOCODER_GITHUB_PRIVATE_KEY",
            ],
        },
        id="postgres-limits-host-network",
    ),
    pytest.param(
        DockerOptions(network="none"),
        None,
        {
            "image": "autocoder:latest",
            "--network": ["none"],
            "--volume": [],
            "--env": ["ANTHROPIC_API_KEY", "AUTOCODER_ENGINE", "AUTOCODER_GITHUB_PRIVATE_KEY"],
        },
        id="no-database-url",
    ),
]


@pytest.mark.parametrize(("options", "database_url", "expected"), CASES)
def test_docker_run_command(
    options: DockerOptions, database_url: str | None, expected: dict[str, Any]
) -> None:
    command = docker_run_command(SPEC, options, database_url=database_url)
    assert command[:4] == ["docker", "run", "--rm", "--init"]
    image_at = command.index(expected["image"])
    assert command[image_at - 2 : image_at] == ["--entrypoint", "python"]
    assert command[image_at + 1 :] == ["-m", "runner.session_process"]
    assert "--interactive" in command, "the work order and control lines go on stdin"
    assert "--parent-pid" not in command, "a container does not watch the server's pid"
    for flag, values in expected.items():
        if flag != "image":
            assert _pairs(command, flag) == values, flag
    assert _pairs(command, "--label") == [
        "autocoder.job=12",
        "autocoder.attempt=2",
        "autocoder.worker=host:7:abc/0",
    ]
    assert _pairs(command, "--name") == ["autocoder-job-12-2"]
    assert _pairs(command, "--security-opt") == ["no-new-privileges"]
    assert _pairs(command, "--cap-drop") == ["ALL"]
    joined = " ".join(command)
    for secret in (SECRET_PEM, "MIIEsecret", "sk-ant-very-secret", ":pw@", "pw@db"):
        assert secret not in joined, "environment values never appear on the command line"
    assert "docker.sock" not in joined, "the docker socket is never mounted"
    assert not any("=" in name for name in _pairs(command, "--env")), "names only"


def test_sqlite_directory() -> None:
    assert sqlite_directory("sqlite:////data/a.db") == Path("/data")
    assert sqlite_directory("sqlite:///:memory:") is None
    assert sqlite_directory("postgresql://x@y/z") is None
    assert sqlite_directory(None) is None


def test_a_real_container_runs_where_an_engine_answers(tmp_path: Path) -> None:
    answers, why = engine_answers()
    if not answers:
        pytest.skip(f"no container engine answers here: {why}")
    image = "autocoder:test"
    built = subprocess.run(
        ["docker", "build", "-t", image, "."],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    executor = DockerExecutor(DockerOptions(image=image, network="none"), database_url=None)
    spec = LaunchSpec(job_id=1, attempt=1, worker_id="w", lease_s=5, heartbeat_s=1, env={})
    command = executor.command(spec)
    # The session entry starts in the image (it stops at once: no database was given).
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert "no database" in done.stdout + done.stderr
