"""The project assistant on the Claude engine (`AUTOCODER_ENGINE=claude`, ANTHROPIC_API_KEY,
ANTHROPIC_BASE_URL at a scripted Anthropic Messages API): as test_assistant_browser.py does
with the OpenAI-compatible engine, in real headless Chromium against `autocoder serve` and the
GitHub emulator, it answers from a file it read with read_file and proposes a feature that
becomes an issue only after Confirm; the requests carried the tool results as tool_result
blocks. A 500 from the model (after its retries) shows a clear error in the conversation and
keeps the person's message, as with the OpenAI engine; without an API key the assistant says
what to set."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.dashboard.assistant.access import AssistantUnavailable, provider_for
from runner.chat.anthropic_provider import AnthropicProvider
from runner.settings import RunnerSettings
from tests.app.serve_harness import scripted_serve_env, serve
from tests.app.webhook_harness import wait_for
from tests.dashboard.browser import chromium
from tests.emulator.client import Emulator
from tests.scripted_model.script import Fault, Turn, tool_turn
from tests.scripted_model.server import ModelServer, running_model_server
from tests.world import REPO, World, make_world

pytestmark = pytest.mark.slow

KEY = "sk-ant-key-for-tests"
NOTES = "# Notes\nThe answer is 42, says notes.md.\n"
FEATURE = {
    "title": "Dark mode",
    "description": "The app follows the system's colour scheme.",
    "steps": ["Switch the system to dark", "Open the app: it is dark"],
    "priority": 1,
}


def issue_titles(world: World) -> list[str]:
    issues: list[dict[str, Any]] = world.api(f"/repos/{REPO}/issues?state=all&per_page=100")
    return [str(issue["title"]) for issue in issues]


def claude_env(world: World, tmp_path: Path, model: ModelServer) -> dict[str, str]:
    env = scripted_serve_env(world, tmp_path, model.base_url, AUTOCODER_ENGINE="claude")
    env.pop("AUTOCODER_BASE_URL", None)
    env.pop("CLAUDE_CODE_OAUTH_TOKEN", None)
    return env | {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": model.base_url}


def known_to(url: str, world: World) -> None:
    world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
    world.open_issue("Something", "to make the repository known")

    def known() -> bool:
        data = httpx.get(f"{url}/api/dashboard/installations", timeout=5).json()
        return REPO in json.dumps(data)

    wait_for(known, timeout=30, what="the repository on the dashboard")


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        block
        for message in body["messages"]
        if message["role"] == "user"
        for block in message["content"]
        if block["type"] == "tool_result"
    ]


def test_claude_assistant_reads_a_file_and_creates_a_feature_after_confirmation(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator, {"README.md": "# hello\n", "notes.md": NOTES})
    turns = [
        tool_turn("read_file", {"path": "notes.md"}),
        Turn(text="notes.md says: The answer is 42."),
        tool_turn("feature_create", FEATURE, text="I will propose it."),
        Turn(text="Proposed; confirm it in the panel."),
    ]
    with running_model_server("anthropic", turns) as model:
        env = claude_env(world, tmp_path, model)
        with serve(env, tmp_path / "serve.log") as url, chromium() as browser:
            known_to(url, world)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{url}/repos/{REPO}")
            page.wait_for_selector("aside.assistant textarea")

            page.fill("#assistant-input", "What does notes.md say?")
            page.click("aside.assistant button[type=submit]")
            page.wait_for_selector('.msg-assistant:has-text("The answer is 42")', timeout=30_000)

            page.fill("#assistant-input", "Add a feature: dark mode.")
            page.click("aside.assistant button[type=submit]")
            pending = '.proposal[data-status="pending"]'
            page.wait_for_selector(pending, timeout=30_000)
            assert "Dark mode" in (page.text_content(f"{pending} .summary") or "")
            assert "Dark mode" not in issue_titles(world)  # shown, not written

            page.click(f'{pending} button[data-decision="confirm"]')
            page.wait_for_selector('.proposal[data-status="confirmed"]', timeout=30_000)
            assert issue_titles(world).count("Dark mode") == 1

            page.reload()  # the conversation resumes where it was left
            page.wait_for_selector('.msg-user:has-text("What does notes.md say?")')
            page.wait_for_selector('.proposal[data-status="confirmed"]')

    # Four Messages API turns, each with the key, the version, the system prompt and the tools.
    requests = model.turn_requests
    assert [r.path for r in requests] == ["/v1/messages"] * 4
    assert all(r.headers["x-api-key"] == KEY for r in requests)
    assert all(r.headers["anthropic-version"] == "2023-06-01" for r in requests)
    first, second, third, fourth = (r.body for r in requests)
    assert REPO in first["system"] and all(m["role"] != "system" for m in first["messages"])
    names = {tool["name"] for tool in first["tools"]}
    assert {"read_file", "list_directory", "search", "feature_create"} <= names
    assert all("input_schema" in tool for tool in first["tools"])

    # The read_file call went back as tool_use, its result as a tool_result block with the file.
    call = second["messages"][1]
    assert call["role"] == "assistant"
    [use] = [block for block in call["content"] if block["type"] == "tool_use"]
    assert (use["name"], use["input"]) == ("read_file", {"path": "notes.md"})
    [result] = tool_results(second)
    assert result["tool_use_id"] == use["id"]
    assert "The answer is 42, says notes.md." in result["content"]
    assert second["messages"][-1] == {"role": "user", "content": [result]}

    # The feature_create result says the change waits for the person; the earlier turn is intact.
    assert [m["role"] for m in fourth["messages"]] == ["user", "assistant"] * 3 + ["user"]
    proposed = [b for b in fourth["messages"][-2]["content"] if b["type"] == "tool_use"]
    assert [(b["name"], b["input"]) for b in proposed] == [("feature_create", FEATURE)]
    last = tool_results(fourth)[-1]
    assert last["tool_use_id"] == proposed[0]["id"] and "Dark mode" in last["content"]
    assert third["messages"] == fourth["messages"][:-2]


def test_a_model_error_shows_in_the_conversation_and_keeps_the_message(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator, {"README.md": "# hello\n"})
    turns = [Turn(text="Back again.", fault=Fault(status=500, times=3))]
    with running_model_server("anthropic", turns) as model:
        env = claude_env(world, tmp_path, model)
        with (
            serve(env, tmp_path / "serve.log") as url,
            httpx.Client(base_url=url, timeout=60) as client,
        ):
            known_to(url, world)
            page = client.get(f"/repos/{REPO}").text
            match = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', page)
            assert match, page
            headers = {"X-CSRF-Token": match.group(1), "Origin": url}
            path = f"/api/dashboard/repos/{REPO}/assistant/messages"

            failed = client.post(path, json={"text": "Hello?"}, headers=headers)
            assert failed.status_code == 200, failed.text
            said = failed.json()["messages"]
            assert [m["role"] for m in said] == ["user", "assistant"]
            assert said[0]["content"] == "Hello?"
            error = said[1]["content"]
            assert error.startswith("(the model failed: 500 from ")
            assert "api_error: Internal server error" in error
            assert "gave up after 3 attempts" in error and KEY not in error

            again = client.post(path, json={"text": "And now?"}, headers=headers).json()
            assert [m["content"] for m in again["messages"]][-1] == "Back again."
    assert [r.status for r in model.requests] == [500, 500, 500, 200]
    # The next request still carries the first message and the error, roles alternating.
    sent = model.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[0]["content"] == [{"type": "text", "text": "Hello?"}]


def test_the_claude_engine_without_an_api_key_says_what_to_set() -> None:
    oauth_only = RunnerSettings.model_construct(
        engine="claude",
        anthropic_api_key=None,
        claude_code_oauth_token=SecretStr("oauth"),
        anthropic_base_url=None,
        model=None,
    )
    with pytest.raises(AssistantUnavailable, match="set ANTHROPIC_API_KEY"):
        provider_for(oauth_only)
    keyed = RunnerSettings.model_construct(
        engine="claude",
        anthropic_api_key=SecretStr(KEY),
        anthropic_base_url="http://127.0.0.1:9",
        model="claude-test",
    )
    provider = provider_for(keyed)
    assert isinstance(provider, AnthropicProvider)
    assert (provider.url, provider.settings.model) == (
        "http://127.0.0.1:9/v1/messages",
        "claude-test",
    )
