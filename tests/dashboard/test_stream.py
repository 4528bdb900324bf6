"""A job's log over Server-Sent Events on real HTTP: batches in order with `attempt:seq` ids,
an `end` once the job is over, and a reconnect with `Last-Event-ID` — while the worker's event
store keeps writing — that loses and repeats no line."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from app.dashboard.stream import StreamTiming
from runner.events import Log
from tests.app.webhook_harness import make_settings, running_app
from tests.dashboard import data
from tests.dashboard.sse import messages


def set_state(sessions: object, job_id: int, state: str) -> None:
    from app.queue.models import Job

    with sessions() as db, db.begin():  # type: ignore[operator]
        job = db.get(Job, job_id)
        job.state = state


def test_stream_sends_stored_lines_then_ends(tmp_path: Path) -> None:
    with running_app(make_settings(tmp_path)) as (url, app):
        sessions = app.state.autocoder.database.sessions
        data.add_repository(sessions)
        job = data.add_job(sessions, 1, state="succeeded")
        data.add_events(sessions, job, [Log(line=f"line {i}") for i in range(3)])
        data.add_events(sessions, job, [Log(line="second attempt")], attempt=2)
        with httpx.stream("GET", f"{url}/api/dashboard/jobs/{job}/events", timeout=10) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            got = list(messages(response))
        assert [m.event for m in got] == ["lines", "end"]
        assert got[0].id == "2:1"
        assert [line["text"] for line in got[0].json()] == [
            "line 0",
            "line 1",
            "line 2",
            "second attempt",
        ]
        assert got[1].json() == {"state": "succeeded"}
        resumed = httpx.get(
            f"{url}/api/dashboard/jobs/{job}/events", headers={"Last-Event-ID": "1:2"}, timeout=10
        )
        lines = [m for m in messages(resumed) if m.event == "lines"]
        assert [line["text"] for m in lines for line in m.json()] == ["line 2", "second attempt"]


def test_reconnects_mid_stream_lose_and_repeat_no_line(tmp_path: Path) -> None:
    total = 400
    with running_app(make_settings(tmp_path)) as (url, app):
        app.state.dashboard_stream = StreamTiming(poll_s=0.02, batch=7, max_connection_s=0.3)
        sessions = app.state.autocoder.database.sessions
        data.add_repository(sessions)
        job = data.add_job(sessions, 1)

        def write() -> None:  # the worker storing events as the session prints them
            for start in range(0, total, 10):
                attempt = 1 if start < total // 2 else 2
                data.add_events(
                    sessions,
                    job,
                    [Log(line=f"line {i}") for i in range(start, start + 10)],
                    attempt=attempt,
                )
                time.sleep(0.01)
            set_state(sessions, job, "succeeded")

        writer = threading.Thread(target=write)
        writer.start()
        received: list[str] = []
        last_id: str | None = None
        connections = 0
        ended = False
        while not ended and connections < 500:
            connections += 1
            headers = {"Last-Event-ID": last_id} if last_id else {}
            with httpx.stream(
                "GET", f"{url}/api/dashboard/jobs/{job}/events", headers=headers, timeout=10
            ) as response:
                for count, message in enumerate(messages(response)):
                    if message.event == "end":
                        ended = True
                        break
                    received.extend(line["text"] for line in message.json())
                    last_id = message.id
                    if count == connections % 3:  # drop the connection mid-stream
                        break
        writer.join()
        assert ended
        assert connections > 5
        assert received == [f"line {i}" for i in range(total)]
