"""For the assistant tests: the repository made known to the dashboard, and the Claude engine's
side — the server's environment for Anthropic's Messages API at a scripted model, and what its
requests must carry (system on top, tools with input_schema, tool_use blocks answered by
tool_result blocks, roles alternating)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.app.serve_harness import scripted_serve_env
from tests.app.webhook_harness import wait_for
from tests.scripted_model.server import ModelServer
from tests.world import REPO, World

KEY = "sk-ant-key-for-tests"
FEATURE = {
    "title": "Dark mode",
    "description": "The app follows the system's colour scheme.",
    "steps": ["Switch the system to dark", "Open the app: it is dark"],
    "priority": 1,
}


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


def check_messages_api_turns(model: ModelServer) -> None:
    """The four turns of the browser test (read_file, answer, feature_create, answer)."""
    # Four streamed Messages API turns, each with the key, the version, the system prompt and
    # the tools.
    requests = model.turn_requests
    assert [r.path for r in requests] == ["/v1/messages"] * 4
    assert all(r.body.get("stream") is True for r in requests)
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
