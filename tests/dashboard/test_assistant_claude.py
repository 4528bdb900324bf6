"""The project assistant on the Claude engine (`AUTOCODER_ENGINE=claude`, ANTHROPIC_API_KEY,
ANTHROPIC_BASE_URL at a scripted Anthropic Messages API). The browser test runs on it too
(test_assistant_browser.py, its requests checked by
assistant_harness.check_messages_api_turns). Here: a 500 from the model (after its retries)
shows a clear error in the conversation and keeps the person's message, as with the OpenAI
engine; without an API key the assistant says what to set."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from app.dashboard.assistant.access import AssistantUnavailable, provider_for
from runner.chat.anthropic_provider import AnthropicProvider
from runner.settings import RunnerSettings
from tests.app.serve_harness import serve
from tests.dashboard.assistant_harness import KEY, claude_env, known_to
from tests.emulator.client import Emulator
from tests.scripted_model.script import Fault, Turn
from tests.scripted_model.server import running_model_server
from tests.world import REPO, make_world

pytestmark = pytest.mark.slow


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
