"""The local executor: each session is a subprocess of the server, in its own process group.

The child is `python -m runner.session_process` with stdin/stdout pipes and a clean environment
(`app.executors.base`). Stopping it signals the whole group (SIGTERM, then SIGKILL after a grace
period), so git, bwrap and the Claude Code CLI that the session started go too. The session also
dies with the server: it asks the kernel for SIGTERM when its parent goes (`PR_SET_PDEATHSIG`,
see `runner.session_process`) and stops when its stdin closes, because a session that outlived
its server would be supervised by nobody — no wall-clock stop, no concurrency accounting, its
output pipe gone — and would race the worker that takes its job over once the lease runs out.

A warm spare (`spare=True`, what `autocoder serve` uses): one session process started ahead of
time, its imports done (`runner.session_process` imports everything before it reads its order),
waiting for a work order on stdin. `launch` hands it the job — its log file, written since it
started, is renamed to the job's log — and a new spare is started `respawn_delay_s` later, so
that its imports do not compete with the session that just began. Spares are started by one
long-lived thread of the executor: `PR_SET_PDEATHSIG` fires when the *thread* that forked the
child ends, so a short-lived thread must never fork one. A spare holds no secret (the token
arrives with its order) and exits when its stdin closes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass
class _Spare:
    process: subprocess.Popen[bytes]
    log_file: IO[bytes] | None
    log_path: Path | None  # where it logs until it gets a job
    env: dict[str, str]


class LocalExecutor:
    name = "local"

    def __init__(
        self,
        *,
        python: str | None = None,
        cwd: Path | None = None,
        spare: bool = False,
        respawn_delay_s: float = 5.0,
    ) -> None:
        self.python = python or sys.executable
        self.cwd = cwd
        self.spare = spare
        self.respawn_delay_s = respawn_delay_s
        self._lock = threading.Lock()
        self._spare: _Spare | None = None
        self._want: tuple[dict[str, str], Path | None] | None = None  # what spares look like
        self._respawn_at: float | None = None
        self._wake = threading.Event()
        self._closed = False
        self._maker: threading.Thread | None = None

    def command(self, spec: LaunchSpec) -> list[str]:
        return [self.python, *session_argv(spec)]

    def launch(self, spec: LaunchSpec) -> LocalSession:
        env = child_env(spec.env)
        taken = self._take_spare(env, spec.log_path)
        if taken is not None:
            log.info("job %s: session handed to warm process %s", spec.job_id, taken.process.pid)
            return taken
        process, log_file = self._start(self.command(spec), env, spec.log_path)
        log.info("job %s: session started as process %s", spec.job_id, process.pid)
        return LocalSession(process, log_file)

    def clean_up(self, job_id: int) -> None:
        """Nothing to do: a local session dies with the server that started it."""

    # -- the warm spare ------------------------------------------------------------------------

    def prepare(self, env: Mapping[str, str], log_dir: Path | None) -> None:
        """Keep a warm session process ready for launches with this environment (`spare`
        executors only; the first one starts now)."""
        if not self.spare:
            return
        with self._lock:
            self._want = (child_env(env), log_dir)
            self._respawn_at = time.monotonic()
            if self._maker is None:
                self._maker = threading.Thread(target=self._make_spares, name="spare", daemon=True)
                self._maker.start()
        self._wake.set()

    @property
    def spare_pid(self) -> int | None:
        """The warm spare's process id, if one is waiting."""
        with self._lock:
            return self._spare.process.pid if self._spare is not None else None

    def close(self) -> None:
        """Stop keeping a spare; the waiting one exits (its stdin closes)."""
        with self._lock:
            self._closed = True
            spare, self._spare = self._spare, None
        self._wake.set()
        if spare is not None:
            _discard(spare)

    def _take_spare(self, env: dict[str, str], log_path: Path | None) -> LocalSession | None:
        with self._lock:
            spare, self._spare = self._spare, None
            if self._want is not None and not self._closed:
                self._respawn_at = time.monotonic() + self.respawn_delay_s
        self._wake.set()
        if spare is None:
            return None
        usable = spare.process.poll() is None and spare.env == env
        if usable and log_path is not None:
            if spare.log_path is None:
                usable = False
            else:
                try:
                    os.replace(spare.log_path, log_path)  # the open file keeps being written
                except OSError:
                    usable = False
        elif usable and spare.log_path is not None:
            with contextlib.suppress(OSError):
                spare.log_path.unlink()
        if not usable:
            _discard(spare)
            return None
        return LocalSession(spare.process, spare.log_file)

    def _make_spares(self) -> None:
        """The spare maker's thread (long-lived: see the module's docstring)."""
        while True:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            with self._lock:
                if self._closed:
                    return
                due = (
                    self._spare is None
                    and self._want is not None
                    and self._respawn_at is not None
                    and time.monotonic() >= self._respawn_at
                )
                want = self._want
            if not due or want is None:
                continue
            env, log_dir = want
            log_path = (
                log_dir / f"spare-{os.getpid()}-{time.monotonic_ns()}.log" if log_dir else None
            )
            try:
                process, log_file = self._start([self.python, *session_argv()], env, log_path)
            except OSError as error:
                log.warning("could not start a warm session process: %s", error)
                with self._lock:
                    self._respawn_at = time.monotonic() + max(self.respawn_delay_s, 5.0)
                continue
            spare = _Spare(process, log_file, log_path, env)
            with self._lock:
                if self._closed or self._spare is not None:
                    keep = False
                else:
                    self._spare, keep = spare, True
            if not keep:
                _discard(spare)

    def _start(
        self, argv: list[str], env: dict[str, str], log_path: Path | None
    ) -> tuple[subprocess.Popen[bytes], IO[bytes] | None]:
        log_file: IO[bytes] | None = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = log_path.open("ab")
        process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file if log_file is not None else subprocess.DEVNULL,
            cwd=self.cwd,
            start_new_session=True,
            close_fds=True,
        )
        return process, log_file


def _discard(spare: _Spare) -> None:
    """A spare nobody will use: closing its stdin ends it; killed if it lingers."""
    with contextlib.suppress(OSError):
        if spare.process.stdin is not None:
            spare.process.stdin.close()
    try:
        spare.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        _signal_group(spare.process.pid, signal.SIGKILL)
        spare.process.wait()
    for stream in (spare.process.stdout, spare.log_file):
        if stream is not None:
            stream.close()
    if spare.log_path is not None:
        with contextlib.suppress(OSError):
            spare.log_path.unlink()


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
