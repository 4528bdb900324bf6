"""A session's stored events as log lines: what each reads as, and reading from a cursor across
attempts on a real SQLite database (the worker's own event store writes them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.dashboard.feed import Cursor, events_after, line_for
from app.db.engine import open_database
from runner.events import Command, Log, Result, Started, Text, ToolCall
from tests.dashboard import data


@pytest.mark.parametrize(
    ("kind", "payload", "text", "ok"),
    [
        ("text", {"text": "I'll add it."}, "I'll add it.", None),
        ("tool_call", {"name": "write_file", "summary": "a.py"}, "→ write_file a.py", None),
        ("command", {"command": "pytest", "exit_code": 0}, "$ pytest  [exit 0]", True),
        ("command", {"command": "make", "exit_code": 2}, "$ make  [exit 2]", False),
        (
            "command",
            {"command": "curl x", "exit_code": None, "refused_reason": "network"},
            "$ curl x  [refused: network]",
            False,
        ),
        ("check_run", {"id": 7, "state": "completed"}, "check run 7: completed", None),
        (
            "result",
            {
                "conclusion": "success",
                "turns": 3,
                "input_tokens": 10,
                "output_tokens": 5,
                "cost_usd": 0.5,
            },
            "concluded success (3 turns, 10 in / 5 out tokens, $0.5000)",
            True,
        ),
        ("failure", {"error": "git push failed"}, "failed: git push failed", False),
    ],
)
def test_line_for(kind: str, payload: dict[str, object], text: str, ok: bool | None) -> None:
    line = line_for(Cursor(1, 4), kind, payload)
    assert (line.text, line.ok, line.kind) == (text, ok, kind)
    assert line.as_json()["id"] == "1:4"


@pytest.mark.parametrize(
    ("header", "cursor"),
    [
        ("2:41", Cursor(2, 41)),
        (" 1:0 ", Cursor(1, 0)),
        ("", Cursor()),
        (None, Cursor()),
        ("41", Cursor()),
        ("a:b", Cursor()),
        ("1:2:3", Cursor()),
    ],
)
def test_cursor_parse(header: str | None, cursor: Cursor) -> None:
    assert Cursor.parse(header) == cursor


def test_events_after_reads_in_order_across_attempts(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        sessions = database.sessions
        data.add_repository(sessions)
        job = data.add_job(sessions, 5)
        other = data.add_job(sessions, 6)
        data.add_events(sessions, job, [Started(session_id="s", pid=1), Text(text="one")])
        data.add_events(sessions, other, [Log(line="not this job")])
        data.add_events(sessions, job, [ToolCall(name="t", summary="two")])
        data.add_events(
            sessions,
            job,
            [Started(session_id="s2", pid=2), Command(command="c", exit_code=0)],
            attempt=2,
        )
        data.add_events(sessions, job, [Result(conclusion="success")], attempt=2)
        with sessions() as db:
            everything = events_after(db, job, Cursor())
            assert [str(line.cursor) for line in everything] == [
                "1:1",
                "1:2",
                "1:3",
                "2:1",
                "2:2",
                "2:3",
            ]
            assert [line.text for line in events_after(db, job, Cursor(1, 3))][:1] == [
                "attempt 2: session started"
            ]
            assert [str(x.cursor) for x in events_after(db, job, Cursor(1, 2), limit=2)] == [
                "1:3",
                "2:1",
            ]
            assert events_after(db, job, Cursor(2, 3)) == []
    finally:
        database.dispose()
