"""The project assistant in real headless Chromium (`autocoder serve`, the GitHub emulator, a
scripted model), on each engine — the OpenAI-compatible one, and Claude through Anthropic's
Messages API (tests/dashboard/test_assistant_claude.py checks those requests): it answers a
question about a file it read with read_file on the default branch's mirror, and a feature it
proposes becomes a GitHub issue only after the person presses Confirm. The conversation is still
there after a reload. Screenshot: artifacts/screenshots/assistant.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.app.serve_harness import scripted_serve_env, serve
from tests.dashboard.assistant_harness import (
    FEATURE,
    check_messages_api_turns,
    claude_env,
    known_to,
)
from tests.dashboard.browser import chromium, screenshot_path
from tests.emulator.client import Emulator
from tests.scripted_model.script import Turn, tool_turn
from tests.scripted_model.server import running_model_server
from tests.world import REPO, World, make_world

pytestmark = pytest.mark.slow

NOTES = "# Notes\nThe answer is 42, says notes.md.\n"


def issue_titles(world: World) -> list[str]:
    issues: list[dict[str, Any]] = world.api(f"/repos/{REPO}/issues?state=all&per_page=100")
    return [str(issue["title"]) for issue in issues]


@pytest.mark.parametrize("api", ["openai", "anthropic"], ids=["openai", "claude"])
def test_assistant_reads_a_file_and_creates_a_feature_after_confirmation(
    github_emulator: Emulator, tmp_path: Path, api: Literal["openai", "anthropic"]
) -> None:
    world = make_world(github_emulator, {"README.md": "# hello\n", "notes.md": NOTES})
    turns = [
        tool_turn("read_file", {"path": "notes.md"}),
        Turn(text="notes.md says: The answer is 42."),
        tool_turn("feature_create", FEATURE, text="I will propose it."),
        Turn(text="Proposed; confirm it in the panel."),
    ]
    with running_model_server(api, turns) as model:
        env = (
            scripted_serve_env(world, tmp_path, model.base_url)
            if api == "openai"
            else claude_env(world, tmp_path, model)
        )
        with serve(env, tmp_path / "serve.log") as url, chromium() as browser:
            known_to(url, world)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{url}/repos/{REPO}")
            page.wait_for_selector("aside.assistant textarea")

            page.fill("#assistant-input", "What does notes.md say?")
            page.click("aside.assistant button[type=submit]")
            page.wait_for_selector('.msg-assistant:has-text("The answer is 42")', timeout=30_000)
            # The model was sent the file, read from the default branch's mirror.
            sent = json.dumps([r.body for r in model.recorder.requests])
            assert "The answer is 42, says notes.md." in sent

            page.fill("#assistant-input", "Add a feature: dark mode.")
            page.click("aside.assistant button[type=submit]")
            pending = '.proposal[data-status="pending"]'
            page.wait_for_selector(pending, timeout=30_000)
            assert "Dark mode" in (page.text_content(f"{pending} .summary") or "")
            assert "Dark mode" not in issue_titles(world)  # shown, not written
            if api == "openai":
                page.screenshot(path=str(screenshot_path("assistant.png")), full_page=True)

            page.click(f'{pending} button[data-decision="confirm"]')
            page.wait_for_selector('.proposal[data-status="confirmed"]', timeout=30_000)
            assert issue_titles(world).count("Dark mode") == 1

            page.reload()  # the conversation resumes where it was left
            page.wait_for_selector('.msg-user:has-text("What does notes.md say?")')
            page.wait_for_selector('.proposal[data-status="confirmed"]')
            assert page.query_selector('button[data-decision="confirm"]') is None
    if api == "anthropic":
        check_messages_api_turns(model)
