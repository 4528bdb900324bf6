"""The container executor: one container per session, from the image the Dockerfile builds, under
any Docker-compatible engine (`docker`, or `podman`, which needs no daemon: see
`.ci/podman-setup.sh`).

The container runs `python -m runner.session_process` for one attempt with CPU, memory and
process limits, all capabilities dropped and no new privileges. It gets what a local session gets
(`app.executors.base`): the work order on stdin (`--interactive`), events on stdout, its log on
stderr. Nothing of the host is mounted — no database, no App private key, no docker socket (a
session that could reach it would own the host) — and its environment is only the names in
`LaunchSpec.env` passed as `--env NAME` (the engine's client copies each value from its own
environment, so no secret is ever on a command line), minus what names a host path.

Its network is what the session needs: GitHub and the model (`bridge`), or the host's own for
services on loopback (`host`). Commands the agent runs are confined further by bubblewrap inside
the container, with no network: `--security-opt systempaths=unconfined` lets bubblewrap mount a
fresh /proc (the engine's masked /proc forbids it otherwise); under podman's default seccomp
profile that is all it takes. Docker's default profile also refuses the user namespace, and the
session then falls back to the container as its sandbox (sandbox mode `container`, its report
says so); `extra_args` can pass a seccomp profile that allows it. The worker gives a container
session its settings through `container_settings`.

A container does not die with the server that started it (the engine owns it), but it stops when
its stdin closes. If a worker that takes the job over finds a container of an earlier attempt
still there, it removes every container labelled with the job first (`clean_up`).
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from app.executors.base import SESSION_ARGV, LaunchSpec, ProcessSession, clean_env
from runner.sandbox.mode import SandboxMode
from runner.settings import RunnerSettings

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "autocoder:latest"
DEFAULT_ENGINE = "docker"
LABEL_JOB = "autocoder.job"
LABEL_ATTEMPT = "autocoder.attempt"
LABEL_WORKER = "autocoder.worker"
# Names that describe the host (its paths, its user); the image has its own.
HOST_ONLY_ENV = frozenset({"PATH", "HOME", "TMPDIR", "USER", "LOGNAME", "PYTHONPATH"})
INNER_SANDBOX_OPTS = ("--security-opt", "systempaths=unconfined")


@dataclass(frozen=True)
class DockerLimits:
    cpus: float = 2.0
    memory: str = "4g"
    pids: int = 1024


@dataclass(frozen=True)
class DockerOptions:
    image: str = DEFAULT_IMAGE
    limits: DockerLimits = field(default_factory=DockerLimits)
    network: str = "bridge"  # the session needs GitHub and the model; "host" for loopback ones
    docker: str = DEFAULT_ENGINE  # the engine's CLI: docker, podman
    inner_sandbox: bool = True  # let bubblewrap run inside (INNER_SANDBOX_OPTS)
    extra_args: tuple[str, ...] = ()


def container_name(job_id: int, attempt: int) -> str:
    return f"autocoder-job-{job_id}-{attempt}"


def sqlite_directory(database_url: str | None) -> Path | None:
    """The directory of a SQLite database file, else None (the worker keeps session logs
    beside it; nothing of it goes into a container)."""
    if not database_url:
        return None
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database:
        return None
    if url.database == ":memory:" or url.database.startswith("file:"):
        return None
    return Path(url.database).expanduser().resolve().parent


def forwarded_env_names(spec: LaunchSpec) -> list[str]:
    """The variables the container gets, by name (sorted)."""
    return sorted(set(spec.env) - HOST_ONLY_ENV)


def docker_run_command(
    spec: LaunchSpec,
    options: DockerOptions,
    *,
    entrypoint: str = "python",
    args: Sequence[str] = SESSION_ARGV,
) -> list[str]:
    """The `docker run` command for one attempt of a job. Pure: environment variables appear
    by name only; their values stay in the engine client's environment. `entrypoint` and `args`
    are the session's unless a caller (a test probing the container) says otherwise."""
    limits = options.limits
    command = [
        options.docker,
        "run",
        "--rm",
        "--init",
        "--interactive",
        "--name",
        container_name(spec.job_id, spec.attempt),
        "--label",
        f"{LABEL_JOB}={spec.job_id}",
        "--label",
        f"{LABEL_ATTEMPT}={spec.attempt}",
        "--label",
        f"{LABEL_WORKER}={spec.worker_id}",
        "--cpus",
        f"{limits.cpus:g}",
        "--memory",
        limits.memory,
        "--memory-swap",
        limits.memory,
        "--pids-limit",
        str(limits.pids),
        "--network",
        options.network,
        "--security-opt",
        "no-new-privileges",
        "--cap-drop",
        "ALL",
    ]
    if options.inner_sandbox:
        command += INNER_SANDBOX_OPTS
    for name in forwarded_env_names(spec):
        command += ["--env", name]
    command += [*options.extra_args, "--entrypoint", entrypoint, options.image, *args]
    return command


def session_exit_code(engine_code: int) -> int:
    """The session's exit code as `SessionHandle.wait` gives it (negative: killed by that
    signal) from the engine client's: `docker run` and `podman run` report a container killed by
    signal N (`kill --signal KILL`, the OOM killer) as 128 + N, which would otherwise read as a
    session that exited without an outcome rather than one that was interrupted."""
    if 128 < engine_code <= 128 + 64:
        return 128 - engine_code
    return engine_code


def container_settings(settings: RunnerSettings) -> RunnerSettings:
    """The runner settings a session in a container gets (in its work order): the container is
    its sandbox — bubblewrap inside it when that works (`SandboxMode.CONTAINER`), unless the
    operator chose a mode — and no directory of the host's (cache, work directory): the
    image's own home holds them."""
    update: dict[str, object] = {"cache_dir": None, "work_dir": None}
    if settings.sandbox is SandboxMode.AUTO:
        update["sandbox"] = SandboxMode.CONTAINER
    return settings.model_copy(update=update)


class DockerSession(ProcessSession):
    def __init__(
        self,
        process: subprocess.Popen[bytes],
        name: str,
        docker: str,
        log_file: IO[bytes] | None,
    ) -> None:
        super().__init__(process, log_file)
        self.name = name
        self.docker = docker

    @property
    def description(self) -> str:
        return f"container {self.name}"

    def wait(self, timeout: float | None = None) -> int | None:
        code = super().wait(timeout)
        return None if code is None else session_exit_code(code)

    def stop(self, grace_s: float) -> int:
        subprocess.run(
            [self.docker, "stop", "--time", str(max(int(grace_s), 0)), self.name],
            capture_output=True,
            check=False,
            timeout=grace_s + 30,
        )
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._close_log()
        return session_exit_code(code)


class DockerExecutor:
    name = "docker"

    def __init__(self, options: DockerOptions) -> None:
        self.options = options

    def command(self, spec: LaunchSpec) -> list[str]:
        return docker_run_command(spec, self.options)

    def launch(self, spec: LaunchSpec) -> DockerSession:
        log_file: IO[bytes] | None = None
        if spec.log_path is not None:
            spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = spec.log_path.open("ab")
        process = subprocess.Popen(
            self.command(spec),
            env=clean_env(spec.env),  # the engine client's: values of the --env names
            stdin=subprocess.PIPE,  # the work order, then control lines (app.executors.base)
            stdout=subprocess.PIPE,  # the session's events
            stderr=log_file if log_file is not None else subprocess.DEVNULL,
            start_new_session=True,
        )
        name = container_name(spec.job_id, spec.attempt)
        log.info("job %s: session started in container %s", spec.job_id, name)
        return DockerSession(process, name, self.options.docker, log_file)

    def clean_up(self, job_id: int) -> None:
        for container in labelled_containers(self.options.docker, job_id):
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(
                    [self.options.docker, "rm", "--force", container],
                    capture_output=True,
                    check=False,
                    timeout=60,
                )


def labelled_containers(docker: str, job_id: int) -> list[str]:
    try:
        done = subprocess.run(
            [docker, "ps", "--all", "--quiet", "--filter", f"label={LABEL_JOB}={job_id}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except (subprocess.SubprocessError, OSError):
        return []
    return done.stdout.split() if done.returncode == 0 else []


def engine_answers(docker: str = DEFAULT_ENGINE, *, timeout: float = 60.0) -> tuple[bool, str]:
    """Whether a container engine answers `info` (docker and podman alike), and if not, why."""
    try:
        done = subprocess.run(
            [docker, "info"], capture_output=True, text=True, check=False, timeout=timeout
        )
    except (subprocess.SubprocessError, OSError) as error:
        return False, f"`{docker} info` could not run: {error}"
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        return False, f"`{docker} info` failed: {reason[-1] if reason else done.returncode}"
    return True, ""
