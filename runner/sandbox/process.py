"""Running one process in its own process group, with a time limit and bounded output.

The process starts a new session (so it leads its own process group). When it ends, anything it
left running in the background is killed with the group; when it overruns its time limit, the
whole group gets SIGTERM and, after a grace period, SIGKILL. Output (stdout and stderr combined)
is kept up to a limit: the beginning and the end, with a note of what was left out between.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcessOutcome", "run_process"]

TIMEOUT_EXIT_CODE = 124  # what coreutils' `timeout` answers when it stops a command
_CHUNK = 65536


@dataclass(frozen=True)
class ProcessOutcome:
    exit_code: int
    output: str
    timed_out: bool
    duration_s: float


class _Capture:
    """Keeps the first and last `limit // 2` bytes of a stream, and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        with self.lock:
            self._add(chunk)

    def _add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.half:
                del self.tail[: len(self.tail) - self.half]

    def text(self) -> str:
        with self.lock:
            return self._text()

    def _text(self) -> str:
        if self.total <= self.limit:
            return (bytes(self.head) + bytes(self.tail)).decode("utf-8", errors="replace")
        omitted = self.total - len(self.head) - len(self.tail)
        return (
            self.head.decode("utf-8", errors="replace")
            + f"\n[... {omitted} bytes of output omitted (output limit {self.limit}) ...]\n"
            + self.tail.decode("utf-8", errors="replace")
        )


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    timeout_s: float,
    output_limit: int,
    grace_s: float = 2.0,
) -> ProcessOutcome:
    """Run `argv` to completion or to its time limit; its whole process group ends with it."""
    started = time.monotonic()
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
    )
    assert process.stdout is not None
    stream = process.stdout
    capture = _Capture(output_limit)

    def read() -> None:
        while chunk := os.read(stream.fileno(), _CHUNK):
            capture.add(chunk)

    reader = threading.Thread(target=read, name=f"output-{process.pid}", daemon=True)
    reader.start()
    timed_out = False
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
    # The command is over: stop whatever it left running in the background, too.
    _signal_group(process.pid, signal.SIGKILL)
    reader.join(timeout=grace_s)
    if not reader.is_alive():
        stream.close()
    duration = time.monotonic() - started
    code = process.returncode
    if timed_out:
        exit_code = TIMEOUT_EXIT_CODE
    elif code < 0:
        exit_code = 128 - code  # killed by a signal: report it the way a shell does
    else:
        exit_code = code
    return ProcessOutcome(exit_code, capture.text(), timed_out, duration)
