"""What every executor offers the worker: launch a session for a claimed job, wait for it, stop
it. The session itself (`app.session_main`) talks to the database and GitHub; the executor only
starts and stops it.

Secrets (the App's private key, model API keys, a PostgreSQL password in the database URL) reach
the session through its environment, never its command line: anyone on the host can read argv.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

SESSION_MODULE = "app.session_main"
DATABASE_URL_ENV = "AUTOCODER_DATABASE_URL"


@dataclass(frozen=True)
class LaunchSpec:
    """One attempt of one job."""

    job_id: int
    attempt: int
    worker_id: str
    lease_s: float
    heartbeat_s: float
    env: Mapping[str, str] = field(default_factory=dict)  # secrets and settings, by name
    log_path: Path | None = None  # the session's output (stdout and stderr)


def session_argv(spec: LaunchSpec, *, parent_pid: int | None) -> list[str]:
    """Arguments of `python -m app.session_main` (after the interpreter): no secret here; the
    database URL comes from the environment (`AUTOCODER_DATABASE_URL`)."""
    argv = [
        "-m",
        SESSION_MODULE,
        "--job-id",
        str(spec.job_id),
        "--worker-id",
        spec.worker_id,
        "--lease-seconds",
        f"{spec.lease_s:g}",
        "--heartbeat-seconds",
        f"{spec.heartbeat_s:g}",
    ]
    if parent_pid is not None:
        argv += ["--parent-pid", str(parent_pid)]
    return argv


class ProcessSession:
    """What a session's handle does the same whatever runs it: wait for the launching process,
    and close its log file once it has ended. Subclasses say how to stop it."""

    def __init__(self, process: subprocess.Popen[bytes], log_file: IO[bytes] | None) -> None:
        self.process = process
        self._log_file = log_file

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._close_log()
        return code

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


class SessionHandle(Protocol):
    """A launched session."""

    @property
    def description(self) -> str: ...

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code, or None if it still runs after `timeout` seconds."""

    def stop(self, grace_s: float) -> int:
        """Ask it to stop (SIGTERM: it concludes its check run), kill it after `grace_s`;
        returns the exit code once everything it started is gone."""


class Executor(Protocol):
    name: str

    def launch(self, spec: LaunchSpec) -> SessionHandle: ...

    def clean_up(self, job_id: int) -> None:
        """Remove whatever an earlier attempt of `job_id` may have left running (before the job
        runs again after a takeover)."""
