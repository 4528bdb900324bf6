"""End to end in real headless Chromium: `autocoder serve` as a process, the GitHub emulator and
a scripted model. A labelled issue's session appears on the board, its check run's Details link
is its session page (AUTOCODER_PUBLIC_URL), its log streams into that page, Stop stops it and its
card moves, Retry starts it again. Screenshots of the board and the session page are kept under
artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.serve_harness import scripted_serve_env, serve
from tests.app.webhook_harness import free_port, wait_for
from tests.dashboard.browser import chromium, screenshot_path
from tests.emulator.client import Emulator
from tests.runner.session_harness import write_turn
from tests.scripted_model.script import Stall, Turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow


def column_of(url: str, number: int) -> str | None:
    board = httpx.get(f"{url}/api/dashboard/repos/{REPO}/board", timeout=5).json()
    for column in board["columns"]:
        if any(card["number"] == number for card in column["cards"]):
            return str(column["id"])
    return None


def details_urls(world: World, branch: str) -> list[str]:
    """The Details links of the check runs on the branch's head (once one exists)."""
    sha = world.api(f"/repos/{REPO}/branches/{branch}")["commit"]["sha"]
    runs: list[dict[str, Any]] = []

    def created() -> bool:
        runs[:] = world.api(f"/repos/{REPO}/commits/{sha}/check-runs")["check_runs"]
        return bool(runs)

    wait_for(created, timeout=30, what="the session's check run")
    return [str(run["details_url"]) for run in runs]


def test_board_live_log_stop_and_retry(github_emulator: Emulator, tmp_path: Path) -> None:
    world = make_world(github_emulator)
    turns = [
        write_turn("openai", "notes.txt", "one\n", text="Writing the notes first."),
        Turn(text="Still thinking.", stall=Stall(seconds=300)),  # holds the session running
    ]
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"  # the dashboard as check runs link it
    with running_model_server("openai", turns) as model:
        env = scripted_serve_env(
            world,
            tmp_path,
            model.base_url,
            AUTOCODER_CANCEL_GRACE_SECONDS="2",
            AUTOCODER_STOP_GRACE_SECONDS="2",
            AUTOCODER_PUBLIC_URL=public_url,
        )
        with serve(env, tmp_path / "serve.log", port=port) as url, chromium() as browser:
            world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
            number = world.open_issue("Add notes", "Please add notes.txt.")
            world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")

            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{url}/repos/{REPO}")
            running = f'[data-column="running"] [data-issue="{number}"]'
            page.wait_for_selector(running, timeout=90_000)
            assert page.text_content("h1") == REPO
            page.screenshot(path=str(screenshot_path("board.png")), full_page=True)

            page.click(f"{running} h3 a")
            page.wait_for_url(f"{url}/jobs/*")
            # The session's check run links here: its Details link is this very page.
            assert details_urls(world, "main") == [page.url]
            page.wait_for_selector('.row:has-text("write_file")', timeout=60_000)
            before = page.evaluate("window.autocoderLog.lines.map(l => l.text)")
            assert "Writing the notes first." in before
            assert before.index("Writing the notes first.") < next(
                i for i, text in enumerate(before) if "write_file" in text
            )
            page.screenshot(path=str(screenshot_path("session.png")), full_page=True)

            page.click('button[data-command="stop"]')
            page.wait_for_selector("main[data-ended]", timeout=60_000)
            assert page.get_attribute("main", "data-ended") == "cancelled"
            lines: list[dict[str, Any]] = page.evaluate("window.autocoderLog.lines")
            ids = [tuple(int(part) for part in line["id"].split(":")) for line in lines]
            assert ids == sorted(set(ids)), "lines out of order or shown twice"
            after = [line["text"] for line in lines][len(before) :]
            assert after, "no line arrived live after the page loaded"
            page.wait_for_selector('[data-fact="state"]:has-text("cancelled")', timeout=10_000)
            page.screenshot(path=str(screenshot_path("session-stopped.png")), full_page=True)

            page.goto(f"{url}/repos/{REPO}")
            wait_for(lambda: column_of(url, number) not in ("running", "queued"), timeout=30)
            card = f'[data-issue="{number}"]'
            page.wait_for_selector(f'{card} button[data-command="retry"]', timeout=10_000)
            assert page.query_selector(f'[data-column="running"] {card}') is None
            page.click(f'{card} button[data-command="retry"]')
            page.wait_for_selector(
                f'[data-column="queued"] {card}, [data-column="running"] {card}', timeout=30_000
            )
            page.screenshot(path=str(screenshot_path("board-retried.png")), full_page=True)
            jobs = httpx.get(f"{url}/api/dashboard/repos/{REPO}/board", timeout=5).json()
            [retried] = [
                c for col in jobs["columns"] for c in col["cards"] if c["number"] == number
            ]
            job = httpx.get(f"{url}/api/dashboard/jobs/{retried['job_id']}", timeout=5).json()
            assert (job["kind"], job["actor"]) == ("retry", "local")
