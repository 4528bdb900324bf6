"""The docker executor: the `docker run` command, table-tested (nothing of the host mounted, no
secret on the command line); under a real engine (podman in CI), a container started exactly as a
session's holds no database, no App key and no secret but those the spec names, and bubblewrap
works inside it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.executors.base import LaunchSpec, clean_env
from app.executors.docker import (
    DockerExecutor,
    DockerLimits,
    DockerOptions,
    container_settings,
    docker_run_command,
    session_exit_code,
    sqlite_directory,
)
from app.worker.env import engine_env
from app.worker.pool import make_executor
from app.worker.settings import WorkerSettings
from runner.sandbox.mode import SandboxMode
from runner.settings import RunnerSettings
from tests.app.container_harness import project_image

SECRET_PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEsecret\n-----END RSA PRIVATE KEY-----\n"
# What a server's configuration holds (`ServeConfig.environ`); the worker keeps the spec's part.
SERVER_ENVIRON = {
    "AUTOCODER_DATABASE_URL": "postgresql+psycopg://autocoder:pw@db/autocoder",
    "AUTOCODER_GITHUB_PRIVATE_KEY": SECRET_PEM,
    "AUTOCODER_GITHUB_PRIVATE_KEY_PATH": "/etc/autocoder/app.pem",
    "AUTOCODER_WEBHOOK_SECRET": "whsec-very-secret",
    "ANTHROPIC_API_KEY": "sk-ant-very-secret",
    "HTTPS_PROXY": "http://proxy.internal:3128",
    "PATH": "/root/.venv/bin:/usr/bin",
    "HOME": "/root",
}
SPEC = LaunchSpec(
    job_id=12,
    attempt=2,
    worker_id="host:7:abc/0",
    env={**engine_env(SERVER_ENVIRON), "PATH": "/root/.venv/bin", "HOME": "/root"},
)
# What the engine itself binds from the host into every container.
ENGINE_FILES = {
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/run/.containerenv",
    "/run/podman-init",  # --init: the engine's own init binary
    "/sbin/docker-init",
}
SESSION_ENV = ["ANTHROPIC_API_KEY", "HTTPS_PROXY"]


def _pairs(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == flag]


CASES = [
    pytest.param(
        DockerOptions(),
        {
            "image": "autocoder:latest",
            "engine": "docker",
            "--cpus": ["2"],
            "--memory": ["4g"],
            "--memory-swap": ["4g"],
            "--pids-limit": ["1024"],
            "--network": ["bridge"],
            "--security-opt": ["no-new-privileges", "systempaths=unconfined"],
        },
        id="defaults",
    ),
    pytest.param(
        DockerOptions(
            image="ghcr.io/acme/autocoder:1.2",
            limits=DockerLimits(cpus=0.5, memory="512m", pids=256),
            network="host",
            docker="podman",
        ),
        {
            "image": "ghcr.io/acme/autocoder:1.2",
            "engine": "podman",
            "--cpus": ["0.5"],
            "--memory": ["512m"],
            "--memory-swap": ["512m"],
            "--pids-limit": ["256"],
            "--network": ["host"],
        },
        id="podman-limits-host-network",
    ),
    pytest.param(
        DockerOptions(network="none", inner_sandbox=False),
        {
            "image": "autocoder:latest",
            "engine": "docker",
            "--network": ["none"],
            "--security-opt": ["no-new-privileges"],
        },
        id="no-inner-sandbox",
    ),
]


@pytest.mark.parametrize(("options", "expected"), CASES)
def test_docker_run_command(options: DockerOptions, expected: dict[str, Any]) -> None:
    command = docker_run_command(SPEC, options)
    assert command[:5] == [expected["engine"], "run", "--rm", "--init", "--interactive"]
    image_at = command.index(expected["image"])
    assert command[image_at - 2 : image_at] == ["--entrypoint", "python"]
    assert command[image_at + 1 :] == ["-m", "runner.session_process"]
    for flag, values in expected.items():
        if flag.startswith("--"):
            assert _pairs(command, flag) == values, flag
    assert _pairs(command, "--label") == [
        "autocoder.job=12",
        "autocoder.attempt=2",
        "autocoder.worker=host:7:abc/0",
    ]
    assert _pairs(command, "--name") == ["autocoder-job-12-2"]
    assert _pairs(command, "--cap-drop") == ["ALL"]
    assert _pairs(command, "--env") == SESSION_ENV, "names only; no database, key or host path"
    for flag in ("--volume", "-v", "--mount", "--tmpfs", "--privileged", "--env-file"):
        assert flag not in command, f"nothing of the host reaches the container ({flag})"
    joined = " ".join(command)
    for value in SERVER_ENVIRON.values():
        assert value not in joined, "environment values never appear on the command line"
    assert "docker.sock" not in joined, "the engine's socket is never mounted"


def test_sqlite_directory() -> None:
    assert sqlite_directory("sqlite:////data/a.db") == Path("/data")
    assert sqlite_directory("sqlite:///:memory:") is None
    assert sqlite_directory("postgresql://x@y/z") is None
    assert sqlite_directory(None) is None


@pytest.mark.parametrize(
    ("engine_code", "session_code"),
    [(0, 0), (1, 1), (125, 125), (128, 128), (137, -9), (143, -15), (192, -64), (255, 255)],
)
def test_session_exit_code(engine_code: int, session_code: int) -> None:
    """A container killed by signal N (the engine reports 128 + N) reads as a session killed by
    it (negative), so the worker sees an interruption, not a session without an outcome."""
    assert session_exit_code(engine_code) == session_code


PROBE = r"""
for path in "$@"; do
    if cat "$path" >/dev/null 2>&1 || ls "$path" >/dev/null 2>&1; then echo "READABLE $path"; fi
done
echo "ENV-BEGIN"; env; echo "ENV-END"
echo "INIT-ENV $(tr '\0' ' ' </proc/1/environ 2>&1)"
echo "MOUNTS-BEGIN"; cat /proc/self/mounts; echo "MOUNTS-END"
if bwrap --die-with-parent --cap-drop ALL --unshare-pid --unshare-net --ro-bind / / \
    --dev /dev --proc /proc true; then
    echo "BWRAP-OK"
fi
"""


def test_a_container_started_as_a_session_cannot_read_the_database_or_the_app_key(
    tmp_path: Path,
) -> None:
    """The executor's own command, with a probe in place of the session: the server's SQLite
    database and App key files exist on the host, yet inside the container neither path can
    be read, the environment holds only what the spec names, and nothing of the host is
    mounted. Bubblewrap (the inner sandbox, with no network) works there."""
    built = project_image()
    server = tmp_path / "server"
    server.mkdir()
    database = server / "autocoder.db"
    database.write_bytes(b"SQLite format 3\0 the job queue")
    key = server / "app.pem"
    key.write_text(SECRET_PEM)
    database_url = f"sqlite:///{database}"
    environ = {
        **SERVER_ENVIRON,
        "AUTOCODER_DATABASE_URL": database_url,
        "AUTOCODER_GITHUB_PRIVATE_KEY_PATH": str(key),
    }
    spec = LaunchSpec(job_id=7, attempt=1, worker_id="probe", env=engine_env(environ))
    options = DockerOptions(image=built.image, network="host", docker=built.engine)
    executor_command = DockerExecutor(options).command(spec)
    command = docker_run_command(
        spec, options, entrypoint="sh", args=["-c", PROBE, "probe", str(database), str(key)]
    )
    image_at = command.index(built.image)
    assert command[:image_at] == [
        *executor_command[: executor_command.index(built.image) - 2],
        "--entrypoint",
        "sh",
    ], "the probe container is started exactly as the session's"
    done = subprocess.run(
        command,
        env=clean_env(spec.env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "READABLE" not in out, out
    env_text = out.split("ENV-BEGIN", 1)[1].split("ENV-END", 1)[0]
    names = {line.split("=", 1)[0] for line in env_text.splitlines() if "=" in line}
    for secret in ("AUTOCODER_DATABASE_URL", "AUTOCODER_GITHUB_PRIVATE_KEY", "WEBHOOK_SECRET"):
        assert not any(secret in name for name in names), names
    for value in (database_url, "MIIEsecret", "whsec-very-secret", str(server)):
        assert value not in out, f"{value!r} reached the container"
    assert "sk-ant-very-secret" in env_text, "what the spec names does arrive"
    mounts = out.split("MOUNTS-BEGIN", 1)[1].split("MOUNTS-END", 1)[0]
    assert str(tmp_path) not in mounts, mounts
    binds = {
        fields[1]
        for fields in (line.split() for line in mounts.splitlines())
        if len(fields) > 1 and fields[0].startswith("/")
    }
    assert binds <= ENGINE_FILES, f"host files mounted: {binds - ENGINE_FILES}"
    assert "BWRAP-OK" in out, f"bubblewrap works inside the container: {done.stderr}"


def test_the_engine_and_image_settings_reach_the_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOCODER_CONTAINER_ENGINE", "podman")
    monkeypatch.setenv("AUTOCODER_DOCKER_IMAGE", "localhost/autocoder:test")
    monkeypatch.setenv("AUTOCODER_DOCKER_NETWORK", "host")
    executor = make_executor("docker", WorkerSettings(), "sqlite:////srv/autocoder.db")
    assert isinstance(executor, DockerExecutor)
    command = executor.command(SPEC)
    assert command[:2] == ["podman", "run"]
    assert _pairs(command, "--network") == ["host"]
    assert "localhost/autocoder:test" in command
    assert not any("/srv" in arg for arg in command), "the database is not the container's"
    assert WorkerSettings.model_fields["container_engine"].default == "docker"


@pytest.mark.parametrize(
    ("chosen", "gets"),
    [
        (SandboxMode.AUTO, SandboxMode.CONTAINER),
        (SandboxMode.CONTAINER, SandboxMode.CONTAINER),
        (SandboxMode.OFF, SandboxMode.OFF),
    ],
)
def test_a_container_session_gets_the_container_sandbox_and_no_host_directories(
    chosen: SandboxMode, gets: SandboxMode
) -> None:
    settings = RunnerSettings.model_validate(
        {"sandbox": chosen, "cache_dir": "/root/.cache/autocoder", "work_dir": "/srv/work"}
    )
    inside = container_settings(settings)
    assert inside.sandbox is gets
    assert (inside.cache_dir, inside.work_dir) == (None, None)
