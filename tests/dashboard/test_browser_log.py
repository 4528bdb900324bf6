"""The session page in real Chromium while the worker's event store writes: lines arrive one
batch after another (not all at the end), EventSource reconnects many times mid-stream (each
response is cut short on purpose) and the page ends with every line once, in order; the log
box does not move the page while it grows."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.dashboard.stream import StreamTiming
from runner.events import Log
from tests.app.webhook_harness import make_settings, running_app
from tests.dashboard import data
from tests.dashboard.browser import chromium
from tests.dashboard.test_stream import set_state

pytestmark = pytest.mark.slow


def test_page_reconnects_without_losing_or_repeating_a_line(tmp_path: Path) -> None:
    total = 300
    with running_app(make_settings(tmp_path)) as (url, app), chromium() as browser:
        app.state.dashboard_stream = StreamTiming(poll_s=0.05, batch=25, max_connection_s=0.4)
        sessions = app.state.autocoder.database.sessions
        data.add_repository(sessions)
        data.add_issue(sessions, 1, "Streaming")
        job = data.add_job(sessions, 1)
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.goto(f"{url}/jobs/{job}")
        page.wait_for_selector(".log")
        box_before = page.eval_on_selector(".log", "e => e.getBoundingClientRect().top")

        seen_counts: list[int] = []

        def write() -> None:
            for start in range(0, total, 5):
                data.add_events(
                    sessions,
                    job,
                    [Log(line=f"line {i}") for i in range(start, start + 5)],
                    attempt=1 if start < total // 2 else 2,
                )
                time.sleep(0.03)
            set_state(sessions, job, "succeeded")

        writer = threading.Thread(target=write)
        writer.start()
        while writer.is_alive():
            seen_counts.append(page.evaluate("window.autocoderLog.lines.length"))
            time.sleep(0.1)
        writer.join()
        page.wait_for_selector("main[data-ended]", timeout=20_000)
        texts = page.evaluate("window.autocoderLog.lines.map(l => l.text)")
        assert texts == [f"line {i}" for i in range(total)]
        assert len({c for c in seen_counts if 0 < c < total}) >= 5, seen_counts  # streamed
        # the tail is on screen, in the DOM, as it arrived
        assert page.text_content(".log-rows .row:last-child") == f"line {total - 1}"
        assert page.eval_on_selector(".log", "e => e.getBoundingClientRect().top") == box_before
