"""The docker executor: one container per session, from the image the Dockerfile builds.

The container runs `python -m app.session_main` for one job with CPU, memory and process limits.
Settings and secrets reach it as `-e NAME` (the docker client copies the value from its own
environment), so no secret is ever on a command line; the docker socket is never mounted (a
session that could reach it would own the host). A SQLite database file's directory is mounted at
the same path, so the session can heartbeat its lease and record its result; with PostgreSQL
nothing is mounted.

A container does not die with the server that started it (the docker daemon owns it). A session
in a container keeps heartbeating its lease while the server is down and concludes its job
itself; if it cannot (the container is gone or cut off), the lease runs out and the worker that
takes the job over first removes every container labelled with the job (`clean_up`).

Bubblewrap inside a container needs user namespaces, which Docker's default seccomp profile
refuses; there the container itself is the sandbox (the session's report says the inner sandbox
is off). Pass `extra_args` (e.g. a seccomp profile) to change that.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from app.executors.base import DATABASE_URL_ENV, LaunchSpec, ProcessSession, session_argv
from app.executors.local import child_env

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "autocoder:latest"
SANDBOX_ENV = "AUTOCODER_SANDBOX"  # runner.settings: `container` = the container is the sandbox
LABEL_JOB = "autocoder.job"
LABEL_ATTEMPT = "autocoder.attempt"
LABEL_WORKER = "autocoder.worker"


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
    docker: str = "docker"
    extra_args: tuple[str, ...] = ()


def container_name(job_id: int, attempt: int) -> str:
    return f"autocoder-job-{job_id}-{attempt}"


def sqlite_directory(database_url: str | None) -> Path | None:
    """The directory of a SQLite database file (mounted into the container), else None."""
    if not database_url:
        return None
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database:
        return None
    if url.database == ":memory:" or url.database.startswith("file:"):
        return None
    return Path(url.database).expanduser().resolve().parent


def docker_run_command(
    spec: LaunchSpec, options: DockerOptions, *, database_url: str | None = None
) -> list[str]:
    """The `docker run` command for one attempt of a job. Pure: environment variables appear
    by name only; their values stay in the docker client's environment."""
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
    directory = sqlite_directory(database_url)
    if directory is not None:
        command += ["--volume", f"{directory}:{directory}"]
    for name in sorted({*spec.env, DATABASE_URL_ENV} if database_url else set(spec.env)):
        command += ["--env", name]
    command += [*options.extra_args, "--entrypoint", "python", options.image]
    command += session_argv(spec, parent_pid=None)
    return command


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
        return code


class DockerExecutor:
    name = "docker"

    def __init__(self, options: DockerOptions, *, database_url: str | None) -> None:
        self.options = options
        self.database_url = database_url

    def command(self, spec: LaunchSpec) -> list[str]:
        return docker_run_command(spec, self.options, database_url=self.database_url)

    def launch(self, spec: LaunchSpec) -> DockerSession:
        # The container is the session's sandbox (bubblewrap inside it is used when it works).
        spec = replace(spec, env={**spec.env, SANDBOX_ENV: "container"})
        log_file: IO[bytes] | None = None
        if spec.log_path is not None:
            spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = spec.log_path.open("ab")
        env: dict[str, str] = dict(spec.env)
        if self.database_url:
            env[DATABASE_URL_ENV] = self.database_url
        process = subprocess.Popen(
            self.command(spec),
            env=child_env(env),
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


def engine_answers(docker: str = "docker", *, timeout: float = 10.0) -> tuple[bool, str]:
    """Whether a container engine answers `docker info` (and if not, why)."""
    try:
        done = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except (subprocess.SubprocessError, OSError) as error:
        return False, f"`{docker} info` could not run: {error}"
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        return False, f"`{docker} info` failed: {reason[-1] if reason else done.returncode}"
    return True, done.stdout.strip()
