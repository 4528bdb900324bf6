"""`autocoder serve --processes N` answers only once all N processes listen: a client that
connects earlier would be kept on the first process for the life of its connection (measured:
half the throughput in `bench/webhooks.py`). A helper that ends before it listens stops the
start with an error that says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.webhooks.processes import Helper, HelperFailed, stop_helpers, wait_until_listening
from tests.app.webhook_harness import free_port, wait_for

pytestmark = pytest.mark.slow

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def _listeners(port: int) -> int:
    """Sockets listening on 127.0.0.1:`port` (one per process, with SO_REUSEPORT)."""
    local = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in rows if row[1] == local and row[3] == _LISTEN)


def test_serve_answers_once_every_process_listens(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTOCODER_")},
        "AUTOCODER_WEBHOOK_SECRET": "a-secret-for-tests",
        "AUTOCODER_DATABASE_URL": f"sqlite:///{tmp_path / 'autocoder.db'}",
        "AUTOCODER_RECONCILE_INTERVAL": "0",
        "AUTOCODER_SESSION_LOG_DIR": str(tmp_path / "sessions"),
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "autocoder", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--processes", "3",
             "--env-file", str(tmp_path / "no.env")],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def answers() -> bool:
        if serve.poll() is not None:
            raise AssertionError(f"serve exited: {log.read_text()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except httpx.HTTPError:
            return False
        return True

    try:
        wait_for(answers, timeout=60, what="autocoder serve to answer /healthz")
        # at its first answer, the three processes already listen
        assert _listeners(port) == 3, log.read_text()
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()


def _helper(code: str) -> Helper:
    """A process given the write end of a ready pipe as fd `told` (a stand-in helper)."""
    ready, told = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-c", code.replace("TOLD", str(told))], pass_fds=(told,)
    )
    os.close(told)
    return Helper(process, ready)


def test_a_helper_that_ends_before_listening_is_named() -> None:
    helpers = [_helper("import os; os.write(TOLD, b'listening')"), _helper("raise SystemExit(3)")]
    try:
        with pytest.raises(HelperFailed, match=r"exited with code 3 before it listened"):
            wait_until_listening(helpers, timeout=30)
    finally:
        stop_helpers(helpers)


def test_a_slow_helper_is_waited_for_only_so_long() -> None:
    slow = _helper("import time; time.sleep(30)")
    try:
        assert wait_until_listening([slow], timeout=0.5) == [slow]
    finally:
        stop_helpers([slow])
    assert slow.process.returncode is not None
