"""A 10,000-line session log in the dashboard, in real headless Chromium: time to render and
the page's memory.

    python -m bench.dashboard_log [--lines 10000] [--runs 3]

The App runs in-process under uvicorn on loopback with a temp SQLite file; one job gets
`--lines` stored events (mixed: model text, tool calls, commands with exit codes, progress
lines) through the worker's own event store. Each run opens the job's page in a fresh tab and
measures, from navigation start, until the page holds every line (the SSE backlog arrives in
batches of 500) and the tail is painted; then the JS heap (`performance.memory`, Chromium's
precise figure), the number of DOM nodes in the log box, and the time of a scroll from top to
bottom (one frame each for 50 jumps). Needs Debian's chromium (`apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from runner.events import Command, Log, SessionEvent, Text, ToolCall
from tests.app.webhook_harness import make_settings, running_app
from tests.dashboard import data
from tests.dashboard.browser import chromium


def events(count: int) -> list[SessionEvent]:
    made: list[SessionEvent] = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            made.append(Text(text=f"Step {i}: reading the code around the failing test."))
        elif kind == 1:
            made.append(ToolCall(name="read_file", summary=f"src/module_{i % 97}.py"))
        elif kind == 2:
            made.append(Command(command=f"pytest -q tests/test_{i % 31}.py", exit_code=i % 3))
        else:
            made.append(Log(line=f"turn {i // 4}: {i} events so far"))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp))
        with running_app(settings) as (url, app), chromium() as browser:
            sessions = app.state.autocoder.database.sessions
            data.add_repository(sessions)
            data.add_issue(sessions, 1, "A long session")
            job = data.add_job(sessions, 1, state="succeeded")
            stored = events(args.lines)
            for start in range(0, len(stored), 1000):
                data.add_events(sessions, job, stored[start : start + 1000])
            renders, heaps, scrolls, nodes = [], [], [], []
            for _ in range(args.runs):
                # (the page's CSP forbids eval; Playwright's wait_for_function needs it)
                page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
                started = time.perf_counter()
                page.goto(f"{url}/jobs/{job}")
                page.wait_for_function(
                    f"window.autocoderLog && window.autocoderLog.lines.length === {args.lines}",
                    timeout=120_000,
                    polling="raf",
                )
                tail = page.evaluate("window.autocoderLog.lines.at(-1).text")
                page.wait_for_function(
                    "t => document.querySelector('.log-rows .row:last-child')?.textContent === t",
                    arg=tail,
                    polling="raf",
                )
                renders.append(time.perf_counter() - started)
                heaps.append(page.evaluate("performance.memory.usedJSHeapSize") / 2**20)
                nodes.append(page.evaluate("document.querySelectorAll('.log *').length"))
                scrolls.append(
                    page.evaluate(
                        """async () => {
                          const box = document.querySelector('.log');
                          const frame = () => new Promise(r => requestAnimationFrame(r));
                          const t0 = performance.now();
                          for (let i = 0; i <= 50; i++) {
                            box.scrollTop = box.scrollHeight * i / 50; await frame();
                          }
                          return (performance.now() - t0) / 51;
                        }"""
                    )
                )
                page.close()
    print(f"dashboard log: {args.lines} lines, {args.runs} runs, Chromium headless")
    print(
        f"  time to render (navigation → every line held, tail painted): "
        f"median {statistics.median(renders) * 1000:.0f} ms, max {max(renders) * 1000:.0f} ms"
    )
    print(f"  JS heap used: median {statistics.median(heaps):.1f} MiB")
    print(f"  DOM nodes in the log box: {max(nodes)} (virtualised)")
    print(f"  scrolling: {statistics.median(scrolls):.1f} ms per frame (50 jumps top → bottom)")


if __name__ == "__main__":
    main()
