"""A job's log as Server-Sent Events: the stored lines after the browser's cursor, in batches
(one SSE message per batch, its `id` the cursor of its last line), then new ones as the worker
stores them, until the job has ended and every line is sent (`event: end`).

Each response lasts at most `max_connection_s`; a browser that reconnects sends the last id
it received as `Last-Event-ID` and gets exactly the lines after it: nothing lost, nothing twice.
Pure framing (`frame`) apart from the polling loop.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.dashboard import feed, queries
from app.queue.models import TERMINAL_STATES


@dataclass(frozen=True)
class StreamTiming:
    poll_s: float = 0.25  # how often to look for new lines
    keepalive_s: float = 15.0  # a comment line so proxies keep the connection
    batch: int = 500  # lines per message
    # Each response ends after this long and the browser reconnects from its last id (a
    # server stopping is never held up by a stream, and proxies see no endless response).
    max_connection_s: float = 30.0


def frame(lines: Sequence[feed.Line]) -> str:
    """One SSE message carrying `lines` (JSON keeps their newlines out of the framing)."""
    data = json.dumps([line.as_json() for line in lines], ensure_ascii=False)
    return f"id: {lines[-1].cursor}\nevent: lines\ndata: {data}\n\n"


def end_frame(state: str) -> str:
    return f"event: end\ndata: {json.dumps({'state': state})}\n\n"


def _read(
    sessions: sessionmaker[Session], job_id: int, cursor: feed.Cursor, batch: int
) -> tuple[str | None, list[feed.Line]]:
    """The job's state, read BEFORE its lines: a state that was terminal then means no line
    can come after those read."""
    with sessions() as db:
        state = queries.job_state(db, job_id)
        return state, feed.events_after(db, job_id, cursor, limit=batch)


async def job_stream(
    sessions: sessionmaker[Session],
    job_id: int,
    cursor: feed.Cursor,
    disconnected: Callable[[], Awaitable[bool]],
    timing: StreamTiming = StreamTiming(),
) -> AsyncIterator[str]:
    yield f"retry: {int(timing.poll_s * 4000)}\n\n"
    opened = last_sent = time.monotonic()
    while time.monotonic() - opened < timing.max_connection_s:
        state, lines = await run_in_threadpool(_read, sessions, job_id, cursor, timing.batch)
        if lines:
            cursor = lines[-1].cursor
            yield frame(lines)
            last_sent = time.monotonic()
            if len(lines) == timing.batch:
                continue  # more stored: no wait
        elif state is None or state in TERMINAL_STATES:
            yield end_frame(state or "unknown")
            return
        if await disconnected():
            return
        if time.monotonic() - last_sent >= timing.keepalive_s:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        await anyio.sleep(timing.poll_s)
