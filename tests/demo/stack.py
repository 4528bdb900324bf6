"""Start (and stop, in reverse order) the demo's three parts on free loopback ports: the GitHub
emulator and the scripted model in this process, `autocoder serve` as a real subprocess.

The serve subprocess gets its whole configuration in its environment, with the caller's own
`AUTOCODER_*`, `ANTHROPIC_*`, `CLAUDE_CODE_*` and `OPENAI_API_KEY` removed (no real key ever
reaches the demo), and runs in the state directory, so no `.env` of the clone is read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.app.serve_harness import ServeDidNotStart, start_serve, stop_serve
from tests.app.serve_harness import tail as tail
from tests.app.webhook_harness import free_port as free_port
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
    """`autocoder serve` on 127.0.0.1:`port` until /healthz answers; SIGTERM when done. It runs
    in its own session: Ctrl-C reaches the demo only, which stops serve in order."""
    try:
        process, url = start_serve(env, log, port=port, cwd=cwd)
    except ServeDidNotStart as error:
        raise StackError(str(error)) from None
    try:
        yield url
    finally:
        stop_serve(process)


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
