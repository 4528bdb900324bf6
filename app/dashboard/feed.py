"""A session's log as the dashboard shows it: the job's stored events (`session_events`, one
stream per attempt), read in order from a cursor, each turned into one display line.

`Cursor` is the position of the last line a page has (attempt, seq); it travels as the SSE
event id (`"2:41"`), so a reconnecting browser's `Last-Event-ID` resumes exactly after it.
`events_after` is the one reader of the table here; `line_for` (pure) says what each event reads
as: agent text, tool calls, commands with their exit codes, check-run updates, spend.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.db.models import SessionEventRow

_CURSOR = re.compile(r"^(\d{1,9}):(\d{1,12})$")


@dataclass(frozen=True, order=True)
class Cursor:
    attempt: int = 0
    seq: int = 0

    def __str__(self) -> str:
        return f"{self.attempt}:{self.seq}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        """A `Last-Event-ID` back as a cursor; anything else means "from the start"."""
        match = _CURSOR.match((text or "").strip())
        if match is None:
            return cls()
        return cls(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class Line:
    cursor: Cursor
    kind: str  # the event's type: text, tool_call, command, check_run, log, result, ...
    text: str
    ok: bool | None = None  # commands and results: whether they went well

    def as_json(self) -> dict[str, Any]:
        return {"id": str(self.cursor), "kind": self.kind, "text": self.text, "ok": self.ok}


def events_after(db: Session, job_id: int, cursor: Cursor, *, limit: int = 500) -> list[Line]:
    """The job's lines after `cursor`, in order, at most `limit`."""
    rows = db.execute(
        select(
            SessionEventRow.attempt, SessionEventRow.seq, SessionEventRow.type, SessionEventRow.data
        )
        .where(
            SessionEventRow.job_id == job_id,
            or_(
                SessionEventRow.attempt > cursor.attempt,
                and_(SessionEventRow.attempt == cursor.attempt, SessionEventRow.seq > cursor.seq),
            ),
        )
        .order_by(SessionEventRow.attempt, SessionEventRow.seq)
        .limit(limit)
    ).all()
    return [line_for(Cursor(attempt, seq), kind, data) for attempt, seq, kind, data in rows]


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _number(data: Mapping[str, Any], key: str) -> float:
    value = data.get(key)
    return float(value) if isinstance(value, int | float) else 0.0


def line_for(cursor: Cursor, kind: str, data: Mapping[str, Any]) -> Line:
    """One stored event as one display line (plain text: the page never parses it as HTML)."""
    if kind == "started":
        return Line(cursor, kind, f"attempt {cursor.attempt}: session started")
    if kind == "log":
        return Line(cursor, kind, _text(data, "line"))
    if kind == "text":
        return Line(cursor, kind, _text(data, "text"))
    if kind == "tool_call":
        return Line(cursor, kind, f"→ {_text(data, 'name')} {_text(data, 'summary')}".rstrip())
    if kind == "command":
        code = data.get("exit_code")
        refused = _text(data, "refused_reason")
        if code is None:
            outcome = f"refused: {refused}" if refused else "did not run"
        elif data.get("timed_out"):
            outcome = "timed out"
        else:
            outcome = f"exit {code}"
        return Line(cursor, kind, f"$ {_text(data, 'command')}  [{outcome}]", ok=code == 0)
    if kind == "check_run":
        return Line(cursor, kind, f"check run {data.get('id')}: {_text(data, 'state')}")
    if kind == "commit_pushed":
        sha = _text(data, "sha")[:12]
        return Line(cursor, kind, f"pushed {sha} to {_text(data, 'branch')}")
    if kind == "pr_opened":
        return Line(cursor, kind, f"pull request #{data.get('number')}: {_text(data, 'url')}")
    if kind == "limit_reached":
        return Line(cursor, kind, f"limit reached: {_text(data, 'reason')}", ok=False)
    if kind == "result":
        conclusion = _text(data, "conclusion")
        spend = (
            f"{int(_number(data, 'turns'))} turns, {int(_number(data, 'input_tokens'))} in / "
            f"{int(_number(data, 'output_tokens'))} out tokens, ${_number(data, 'cost_usd'):.4f}"
        )
        error = _text(data, "error")
        text = f"concluded {conclusion} ({spend})" + (f": {error}" if error else "")
        return Line(cursor, kind, text, ok=conclusion in ("success", "neutral"))
    if kind == "failure":
        return Line(cursor, kind, f"failed: {_text(data, 'error')}", ok=False)
    return Line(cursor, kind, f"{kind}")
