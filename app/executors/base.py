"""What every executor offers the worker: launch a session process for one attempt, wait for
it, stop it. The executor only starts and stops; the worker owns the attempt.

The interface, for whoever writes an executor (local process, container, elsewhere):

- run `python -m runner.session_process` (`SESSION_ARGV`) with **stdin and stdout as pipes**
  (`SessionHandle.stdin` / `.stdout`, binary) and stderr to `LaunchSpec.log_path` (the
  session's own log); with a container engine that means `docker run -i`;
- the worker writes one `runner.work_order.WorkOrder` line on stdin, then `runner.events`
  control lines (stop, a fresh token); it reads `runner.events` event lines from stdout;
- the environment is `LaunchSpec.env` and nothing else of the server's (`clean_env`): PATH,
  HOME, locale, proxy and CA settings, and the few credentials the engine's own CLI reads
  (`app.worker.env`). No database URL, no App private key, no webhook secret — the session
  needs none of them, and a session (or the model driving it) must not be able to reach them;
- `stop(grace_s)` asks it to stop (SIGTERM: it concludes its check run) and kills everything it
  started after `grace_s`.

Secrets never go on a command line (anyone on the host can read argv): the work order carries
them over the pipe.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

SESSION_MODULE = "runner.session_process"
SESSION_ARGV = ("-m", SESSION_MODULE)
# Deprecated: sessions get no database. Kept so that an executor still naming it compiles.
DATABASE_URL_ENV = "AUTOCODER_DATABASE_URL"
BASE_ENV_NAMES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME")


@dataclass(frozen=True)
class LaunchSpec:
    """One attempt of one job."""

    job_id: int
    attempt: int
    worker_id: str = ""
    env: Mapping[str, str] = field(default_factory=dict)  # the session's whole environment
    log_path: Path | None = None  # the session's log (its stderr)
    lease_s: float = 60.0  # unused by sessions now; kept for executors' labels
    heartbeat_s: float = 20.0


def session_argv(spec: LaunchSpec | None = None, *, parent_pid: int | None = None) -> list[str]:
    """Arguments after the interpreter: `-m runner.session_process`. No job id, no secret:
    everything comes in the work order on stdin."""
    return list(SESSION_ARGV)


def clean_env(extra: Mapping[str, str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The session's environment: the basics of the server's (`BASE_ENV_NAMES`), plus
    `extra`. Nothing else of the server's environment passes."""
    source = os.environ if environ is None else environ
    env = {name: source[name] for name in BASE_ENV_NAMES if name in source}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ProcessSession:
    """What a session's handle does the same whatever runs it: its pipes, waiting for the
    launching process, closing its log file once it has ended. Subclasses say how to stop."""

    def __init__(self, process: subprocess.Popen[bytes], log_file: IO[bytes] | None) -> None:
        self.process = process
        self._log_file = log_file
        assert process.stdin is not None and process.stdout is not None, "pipes are required"
        self.stdin: IO[bytes] = process.stdin
        self.stdout: IO[bytes] = process.stdout

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

    stdin: IO[bytes]  # the work order, then control lines
    stdout: IO[bytes]  # event lines

    @property
    def description(self) -> str: ...

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code (negative: killed by that signal), or None if it still runs after
        `timeout` seconds."""

    def stop(self, grace_s: float) -> int:
        """Ask it to stop (SIGTERM: it concludes its check run), kill it after `grace_s`;
        returns the exit code once everything it started is gone."""


class Executor(Protocol):
    name: str

    def launch(self, spec: LaunchSpec) -> SessionHandle: ...

    def clean_up(self, job_id: int) -> None:
        """Remove whatever an earlier attempt of `job_id` may have left running (before the job
        runs again after a takeover)."""
