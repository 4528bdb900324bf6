"""What every route of a scripted model server shares: the player, the recorder, a stop flag."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .player import Fail, Hold, ScriptPlayer
from .recorder import RecordedRequest, RequestRecorder, Role
from .script import Fault, Turn


@dataclass
class ServerState:
    """Shared by the routes of one server; `stopping` is set when the server shuts down."""

    player: ScriptPlayer
    recorder: RequestRecorder = field(default_factory=RequestRecorder)
    stopping: threading.Event = field(default_factory=threading.Event)

    async def hold(self, seconds: float) -> None:
        """Sleep `seconds` without blocking other requests, ending early when the server stops."""
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.05))


@dataclass(frozen=True)
class Incoming:
    """A request read once: `body` is the parsed JSON, or None when there is none or it is bad."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    body_ok: bool

    def record(
        self,
        state: ServerState,
        role: Role,
        *,
        turn_index: int | None = None,
        note: str = "",
        status: int = 200,
    ) -> RecordedRequest:
        return state.recorder.record(
            method=self.method,
            path=self.path,
            query=self.query,
            headers=self.headers,
            body=self.body,
            role=role,
            turn_index=turn_index,
            note=note,
            status=status,
        )


async def read_incoming(request: Request) -> Incoming:
    raw = await request.body()
    body: Any = None
    body_ok = True
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body, body_ok = raw.decode("utf-8", "replace"), False
    return Incoming(
        method=request.method,
        path=request.url.path,
        query=request.url.query,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        body_ok=body_ok,
    )


async def play_turn(
    state: ServerState,
    incoming: Incoming,
    body: Mapping[str, Any],
    *,
    serve: Callable[[Turn, Mapping[str, Any]], Response],
    fail: Callable[[Fault], Response],
    stall_ended: Callable[[], Response],
) -> Response:
    """Answer a counted request with the script's next step, and record what it got."""
    step = state.player.next_step()
    if isinstance(step, Fail):
        incoming.record(state, "fault", turn_index=step.index, status=step.fault.status)
        return fail(step.fault)
    if isinstance(step, Hold):
        incoming.record(state, "stall", turn_index=step.index, status=500)
        await state.hold(step.stall.seconds)
        return stall_ended()
    incoming.record(state, "turn" if step.index is not None else "exhausted", turn_index=step.index)
    return serve(step.turn, body)
