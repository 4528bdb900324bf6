"""Start (and stop, in reverse order) the demo's three parts on free loopback ports: the GitHub
emulator and the scripted model in this process, `autocoder serve` as a real subprocess.

The serve subprocess gets its whole configuration in its environment, with the caller's own
`AUTOCODER_*`, `ANTHROPIC_*`, `CLAUDE_CODE_*` and `OPENAI_API_KEY` removed (no real key ever
reaches the demo), and runs in the state directory, so no `.env` of the clone is read.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from tests.emulator.client import Emulator, running_emulator
from tests.scripted_model.server import ModelServer, running_model_server

from .seed import DemoWorld, seed

Engine = Literal["claude", "openai"]
SCRIPTS = Path(__file__).parent / "scripts"
_DROPPED_PREFIXES = ("AUTOCODER_", "ANTHROPIC_", "CLAUDE_CODE_")
_DROPPED_NAMES = ("OPENAI_API_KEY",)


class StackError(Exception):
    """A part of the demo did not start; the message says which and why."""


@dataclass(frozen=True)
class Stack:
    emulator: Emulator
    model: ModelServer
    world: DemoWorld
    serve_url: str
    serve_log: Path
    script: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def model_kind(engine: Engine) -> Literal["anthropic", "openai"]:
    return "openai" if engine == "openai" else "anthropic"


def serve_env(
    environ: Mapping[str, str],
    *,
    engine: Engine,
    state_dir: Path,
    emulator_url: str,
    model_url: str,
    world: DemoWorld,
) -> dict[str, str]:
    """The environment of `autocoder serve`: the demo's App, database, cache and model."""
    env = {
        name: value
        for name, value in environ.items()
        if not name.startswith(_DROPPED_PREFIXES) and name not in _DROPPED_NAMES
    }
    loopback = "127.0.0.1,localhost"
    env |= {
        "HOME": str(state_dir / "home"),
        "NO_PROXY": loopback,
        "no_proxy": loopback,
        "AUTOCODER_GITHUB_API_URL": emulator_url,
        "AUTOCODER_GITHUB_APP_ID": str(world.app.id),
        "AUTOCODER_GITHUB_PRIVATE_KEY": world.app.private_key,
        "AUTOCODER_WEBHOOK_SECRET": world.app.webhook_secret,
        "AUTOCODER_DATABASE_URL": f"sqlite:///{state_dir / 'autocoder.db'}",
        "AUTOCODER_CACHE_DIR": str(state_dir / "cache"),
        "AUTOCODER_COMMIT_NAME": world.app.bot_login,
        "AUTOCODER_COMMIT_EMAIL": f"{world.app.bot_id}+{world.app.bot_login}"
        "@users.noreply.github.com",
        "AUTOCODER_ENGINE": engine,
        "AUTOCODER_MAX_TURNS": "10",
        "AUTOCODER_RECONCILE_INTERVAL": "0",
        "AUTOCODER_POLL_SECONDS": "0.2",
    }
    if engine == "openai":
        env |= {
            "AUTOCODER_BASE_URL": model_url,
            "AUTOCODER_API_KEY": "sk-demo-not-a-real-key",
            "AUTOCODER_MODEL": "scripted",
        }
    else:
        env |= {"ANTHROPIC_BASE_URL": model_url, "ANTHROPIC_API_KEY": "sk-ant-demo-not-a-real-key"}
    return env


@contextmanager
def running_serve(env: dict[str, str], cwd: Path, port: int, log: Path) -> Iterator[str]:
    """`autocoder serve` on 127.0.0.1:`port` until /healthz answers; SIGTERM when done."""
    with log.open("wb") as out:
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
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops serve in order
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(process, url, log)
            yield url
        finally:
            _stop(process)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"autocoder serve exited ({process.returncode}):\n{tail(log)}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise StackError(f"autocoder serve did not answer {url}/healthz in 60 s:\n{tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def tail(log: Path, lines: int = 30) -> str:
    """The end of a log file, for a failure message."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def running_stack(engine: Engine, state_dir: Path, script: Path | None = None) -> Iterator[Stack]:
    """Everything up and the demo world seeded; `script` defaults to `scripts/<engine>.json`."""
    script = script or SCRIPTS / f"{engine}.json"
    with ExitStack() as stack:
        emulator = stack.enter_context(running_emulator(state_dir / "github"))
        model = stack.enter_context(running_model_server(model_kind(engine), script))
        port = free_port()
        world = seed(emulator, f"http://127.0.0.1:{port}/api/github/webhooks")
        env = serve_env(
            os.environ,
            engine=engine,
            state_dir=state_dir,
            emulator_url=emulator.api_url,
            model_url=model.base_url,
            world=world,
        )
        (state_dir / "home").mkdir(parents=True, exist_ok=True)
        log = state_dir / "serve.log"
        url = stack.enter_context(running_serve(env, state_dir, port, log))
        yield Stack(emulator, model, world, url, log, script)
