"""Assemble a scripted model server and run it on loopback in a background thread."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from . import anthropic_api, openai_api
from .player import ScriptPlayer
from .recorder import RecordedRequest, RequestRecorder
from .script import Script, Turn, as_script
from .state import ServerState, read_incoming

Kind = Literal["anthropic", "openai"]
KINDS: tuple[Kind, ...] = ("anthropic", "openai")
ScriptSource = Script | Sequence[Turn | Mapping[str, Any] | str] | str | Path

log = logging.getLogger(__name__)


def build_app(kind: Kind, state: ServerState) -> FastAPI:
    """The ASGI app for one API kind, with `/_scripted/*` inspection routes and a catch-all."""
    if kind not in KINDS:
        raise ValueError(f"unknown model server kind {kind!r}; use one of {KINDS}")
    api_router = anthropic_api.build_router if kind == "anthropic" else openai_api.build_router
    error_response = (
        anthropic_api.error_response if kind == "anthropic" else openai_api.error_response
    )
    app = FastAPI(title=f"scripted {kind} model", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(api_router(state))

    @app.get("/_scripted/requests")
    async def recorded() -> JSONResponse:
        return JSONResponse([r.to_json() for r in state.recorder.requests])

    @app.get("/_scripted/state")
    async def progress() -> JSONResponse:
        return JSONResponse(
            {
                "turns": len(state.player.script.turns),
                "turns_served": state.player.turns_served,
                "exhausted_requests": state.player.exhausted_requests,
            }
        )

    @app.api_route("/", methods=["GET", "HEAD"])
    async def root(request: Request) -> Response:
        (await read_incoming(request)).record(state, "auxiliary", note="probe")
        return JSONResponse({"ok": True, "kind": kind})

    @app.api_route(
        "/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    )
    async def unknown(request: Request, path: str) -> Response:
        incoming = await read_incoming(request)
        incoming.record(state, "unknown", status=404)
        log.warning("scripted %s model: no route for %s /%s", kind, request.method, path)
        return error_response(404, f"scripted model server has no route {request.method} /{path}")

    return app


class ModelServer:
    """A running scripted model server: where it listens and what it has seen."""

    def __init__(self, kind: Kind, state: ServerState, port: int) -> None:
        self.kind = kind
        self.state = state
        self.port = port
        self.root_url = f"http://127.0.0.1:{port}"

    @property
    def base_url(self) -> str:
        """What a client is given: the root for Anthropic clients, `<root>/v1` for OpenAI ones."""
        return self.root_url if self.kind == "anthropic" else f"{self.root_url}/v1"

    @property
    def recorder(self) -> RequestRecorder:
        return self.state.recorder

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, oldest first."""
        return self.state.recorder.requests

    @property
    def turn_requests(self) -> list[RecordedRequest]:
        """The requests that were served a scripted turn (not faults, side requests, ...)."""
        return self.state.recorder.with_role("turn")

    @property
    def turns_served(self) -> int:
        return self.state.player.turns_served

    @property
    def exhausted(self) -> bool:
        """True once a request came after the last turn (and got the final text)."""
        return self.state.player.exhausted_requests > 0


@contextmanager
def running_model_server(
    kind: Kind, script: ScriptSource, *, port: int = 0, startup_timeout: float = 10.0
) -> Iterator[ModelServer]:
    """Serve `script` as a `kind` model on 127.0.0.1 (a free port unless given) until exit."""
    state = ServerState(player=ScriptPlayer(as_script(script)))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        build_app(kind, state),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"scripted-{kind}-model", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"scripted {kind} model server did not start")
            time.sleep(0.01)
        yield ModelServer(kind, state, sock.getsockname()[1])
    finally:
        state.stopping.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
