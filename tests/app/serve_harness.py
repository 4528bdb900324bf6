"""`autocoder serve` as a real process for end-to-end tests and the demo: one place that starts
it on loopback (in its own session, its output appended to a log file), waits until /healthz
answers, and stops it (SIGTERM, then SIGKILL to its group); and the environment of a server
acting as a test world's App with a scripted OpenAI-compatible model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.app.webhook_harness import free_port
from tests.world import World


class ServeDidNotStart(AssertionError):
    """`autocoder serve` exited or did not answer /healthz in time; the message ends with its
    log's last lines."""


def start_serve(
    env: dict[str, str],
    log: Path,
    *,
    port: int | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> tuple[subprocess.Popen[bytes], str]:
    """`autocoder serve` on 127.0.0.1:`port` (a free one by default) once /healthz answers:
    (the process, its URL). A server that does not get there is stopped."""
    port = port or free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autocoder",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # signals meant for the test run do not reach it
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(process, url, log, timeout)
    except BaseException:
        stop_serve(process)
        raise
    return process, url


def wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServeDidNotStart(f"autocoder serve exited ({process.returncode}):\n{tail(log)}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise ServeDidNotStart(
        f"autocoder serve did not answer {url}/healthz in {timeout:.0f} s:\n{tail(log)}"
    )


def stop_serve(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful stop); its whole group is SIGKILLed if it is not gone in 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@contextmanager
def serve_process(
    env: dict[str, str], log: Path, *, port: int | None = None, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A running `autocoder serve` for the block (see `start_serve`); stopped after it unless
    the block killed it."""
    process, _ = start_serve(env, log, port=port, cwd=cwd)
    try:
        yield process
    finally:
        stop_serve(process)


@contextmanager
def serve(
    env: dict[str, str], log: Path, *, port: int | None = None, cwd: Path | None = None
) -> Iterator[str]:
    """As `serve_process`, yielding the server's URL."""
    process, url = start_serve(env, log, port=port, cwd=cwd)
    try:
        yield url
    finally:
        stop_serve(process)


def session_pids(server_pid: int) -> list[int]:
    """The server's child processes running a session (read from /proc): `runner.session_process`
    that has its work order (it names itself `ac-session` then; a warm spare waiting for its
    order is not a session yet)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            working = (entry / "comm").read_text().strip() == "ac-session"
        except (OSError, ValueError, IndexError):
            continue
        if b"runner.session_process" in argv and parent == server_pid and working:
            found.append(int(entry.name))
    return found


def still_running(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def process_env(pid: int) -> dict[str, str]:
    raw = (Path("/proc") / str(pid) / "environ").read_bytes()
    pairs = [item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item]
    return {name.decode(): value.decode(errors="replace") for name, value in pairs}


def tail(log: Path, lines: int = 30) -> str:
    """The end of a log file, for a failure message."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def scripted_serve_env(
    world: World, tmp_path: Path, model_url: str, **settings: str
) -> dict[str, str]:
    """The environment of `autocoder serve` as `world`'s App with the scripted OpenAI-compatible
    model at `model_url`: the test's own environment without any `AUTOCODER_*`, a home, cache
    and SQLite database under `tmp_path`, no periodic reconcile, a short poll; `settings` add
    to or replace these."""
    defaults = {
        "AUTOCODER_ENGINE": "openai",
        "AUTOCODER_BASE_URL": model_url,
        "AUTOCODER_MODEL": "scripted",
        "AUTOCODER_API_KEY": "sk-model-key-for-tests",
        "AUTOCODER_MAX_TURNS": "10",
        "AUTOCODER_WEBHOOK_SECRET": world.app.webhook_secret,
        "AUTOCODER_DATABASE_URL": f"sqlite:///{tmp_path / 'serve' / 'autocoder.db'}",
        "AUTOCODER_RECONCILE_INTERVAL": "0",
        "AUTOCODER_POLL_SECONDS": "0.2",
    }
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTOCODER_")},
        **world.runner_env(tmp_path / "cache", **(defaults | settings)),
        "HOME": str(tmp_path / "home"),
    }
