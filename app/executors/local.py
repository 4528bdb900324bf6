"""The local executor: each session is a subprocess of the server, in its own process group.

The child is `python -m runner.session_process` with stdin/stdout pipes and a clean environment
(`app.executors.base`). Stopping it signals the whole group (SIGTERM, then SIGKILL after a grace
period), so git, bwrap and the Claude Code CLI that the session started go too. The session also
dies with the server: it asks the kernel for SIGTERM when its parent goes (`PR_SET_PDEATHSIG`,
see `runner.session_process`) and stops when its stdin closes, because a session that outlived
its server would be supervised by nobody — no wall-clock stop, no concurrency accounting, its
output pipe gone — and would race the worker that takes its job over once the lease runs out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from app.executors.base import LaunchSpec, ProcessSession, clean_env, session_argv

log = logging.getLogger(__name__)


class LocalSession(ProcessSession):
    def __init__(self, process: subprocess.Popen[bytes], log_file: IO[bytes] | None) -> None:
        super().__init__(process, log_file)
        self.pgid = process.pid  # start_new_session: the child leads its own group

    @property
    def description(self) -> str:
        return f"process {self.process.pid}"

    def stop(self, grace_s: float) -> int:
        if self.process.poll() is None:
            _signal_group(self.pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=max(grace_s, 0))
        # Whatever is left of the group (the leader, or children it left behind) goes now.
        _signal_group(self.pgid, signal.SIGKILL)
        code = self.process.wait()
        _wait_group_gone(self.pgid, timeout=5.0)
        self._close_log()
        return code


class LocalExecutor:
    name = "local"

    def __init__(self, *, python: str | None = None, cwd: Path | None = None) -> None:
        self.python = python or sys.executable
        self.cwd = cwd

    def command(self, spec: LaunchSpec) -> list[str]:
        return [self.python, *session_argv(spec)]

    def launch(self, spec: LaunchSpec) -> LocalSession:
        log_file: IO[bytes] | None = None
        if spec.log_path is not None:
            spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = spec.log_path.open("ab")
        process = subprocess.Popen(
            self.command(spec),
            env=child_env(spec.env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file if log_file is not None else subprocess.DEVNULL,
            cwd=self.cwd,
            start_new_session=True,
            close_fds=True,
        )
        log.info("job %s: session started as process %s", spec.job_id, process.pid)
        return LocalSession(process, log_file)

    def clean_up(self, job_id: int) -> None:
        """Nothing to do: a local session dies with the server that started it."""


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The session's environment: the basics of the server's plus `extra`, nothing else."""
    return clean_env(extra)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_group_gone(pgid: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
