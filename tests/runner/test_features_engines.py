"""Every feature tool called by a model through each engine, against the GitHub emulator: the
OpenAI-compatible engine (functions of these exact names, scripted chat-completions server) and
the Claude engine (the real claude-agent-sdk and bundled Claude Code CLI, the tools as
`mcp__autocoder__<name>` of an in-process MCP server, scripted Anthropic server). What the agent
was shown is read from the scripted server's request log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.engines.base import EngineEvent, EngineRequest, ToolUse
from runner.engines.claude import ClaudeCredentials, ClaudeEngine
from runner.engines.claude.gate import BashRewriter, ToolGate
from runner.engines.openai import OpenAICompatibleClient, OpenAIEngine
from runner.features.tools import TOOL_NAMES
from runner.limits import LimitGuard
from runner.policy import CommandPolicy
from runner.task import Limits
from tests.emulator import Emulator
from tests.runner.features_world import FeatureWorld, feature_world
from tests.scripted_model import ModelServer, ToolCall, Turn, running_model_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

PLAN = [
    {"title": "Product list", "description": "Lists products.", "steps": ["Open /", "See 3"]},
    {
        "title": "Cart",
        "description": "A cart.",
        "steps": ["Click Add", "Cart shows 1"],
        "priority": 2,
        "depends_on": [0],
    },
    {
        "title": "Checkout",
        "description": "Pay.",
        "steps": ["Pay", "See receipt"],
        "depends_on": [0, 1],
    },
]
# On a fresh emulator the spec issue is #1, so the plan becomes #2, #3, #4 and the next one #5.
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("feature_create_bulk", {"features": PLAN}),
    ("feature_get_stats", {}),
    ("feature_get_next", {}),
    ("feature_create", {"title": "About", "description": "Us.", "steps": ["Open /about"]}),
    ("feature_update", {"number": 4, "priority": 2}),
    ("feature_skip", {"number": 2}),
    ("feature_mark_passing", {"number": 3}),
    ("feature_get_for_regression", {"limit": 2}),
    ("feature_delete", {"number": 5}),
    ("feature_delete", {"number": 1}),  # the spec issue: an error the agent reads
]


def _script(prefix: str) -> list[Turn]:
    turns = [
        Turn(tool_calls=(ToolCall(name=prefix + name, input=args, id=f"call_{i:02d}"),))
        for i, (name, args) in enumerate(CALLS)
    ]
    return [*turns, Turn(text="Planned the features.")]


def _request(worktree: Path, world: FeatureWorld) -> EngineRequest:
    return EngineRequest(
        session_id="features-session",
        system_prompt="You are autocoder, planning features.",
        prompt="Plan the shop.",
        worktree=worktree,
        guard=LimitGuard(Limits(max_turns=30, timeout_s=200, max_cost_usd=5.0)),
        model="claude-sonnet-4-5",
        extra_tools=tuple(world.tools().specs()),
    )


def _assert_what_the_agent_saw(results: list[tuple[str, bool]], world: FeatureWorld) -> None:
    """`results[i]`: (text, is_error) of CALLS[i]'s tool result."""
    assert len(results) == len(CALLS)
    texts = [text for text, _ in results]
    assert [error for _, error in results] == [False] * 9 + [True]
    data = [json.loads(text) for text in texts[:9]]
    bulk, stats, nxt, made, updated, skipped, marked, regression, deleted = data
    assert [(f["number"], f["created"]) for f in bulk["features"]] == [
        (2, True),
        (3, True),
        (4, True),
    ]
    assert bulk["features"][2]["blocked_by"] == [2, 3]
    assert (stats["total"], stats["ready"], stats["blocked"]) == (3, 1, 2)
    assert nxt["feature"]["number"] == 2
    assert nxt["feature"]["steps"] == ["Open /", "See 3"]
    assert (made["feature"]["number"], made["created"]) == (5, True)
    assert updated["feature"]["priority"] == 2
    assert skipped["feature"]["priority"] == 3  # after Cart (2), Checkout (2) and About (1)
    assert (marked["number"], marked["recorded"]) == (3, True)
    assert regression == {"features": []}
    assert (deleted["number"], deleted["state"]) == (5, "closed")
    assert "#1 is not a feature" in texts[9]
    # and GitHub holds what the tools said
    assert [i.number for i in world.graph.sub_issues(world.spec_issue)] == [2, 3, 4, 5]
    assert [b.number for b in world.graph.blocked_by(4)] == [2, 3]
    assert world.graph.get(5).state_reason == "not_planned"


@pytest.fixture
def world(github_emulator: Emulator) -> Iterator[FeatureWorld]:
    with feature_world(github_emulator) as made:
        yield made


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    path = tmp_path / "worktree"
    path.mkdir()
    (path / "README.md").write_text("# shop\n")
    return path


def test_the_openai_engine_offers_the_feature_tools_by_their_names(
    world: FeatureWorld, worktree: Path
) -> None:
    with running_model_server("openai", _script("")) as server:
        engine = OpenAIEngine(
            lambda: OpenAICompatibleClient(server.base_url, "sk-test", timeout=30),
            "scripted-model",
        )
        events: list[EngineEvent] = []
        asyncio.run(engine.run(_request(worktree, world), events.append))
    offered = [t["function"]["name"] for t in server.turn_requests[0].body["tools"]]
    assert set(TOOL_NAMES) <= set(offered)
    last = server.turn_requests[-1].body["messages"]
    results = {m["tool_call_id"]: m["content"] for m in last if m["role"] == "tool"}
    texts = [results[f"call_{i:02d}"] for i in range(len(CALLS))]
    _assert_what_the_agent_saw([(t, not t.startswith("{")) for t in texts], world)


def test_an_ordinary_session_has_no_feature_tools(worktree: Path) -> None:
    with running_model_server("openai", [Turn(text="Nothing to do.")]) as server:
        engine = OpenAIEngine(
            lambda: OpenAICompatibleClient(server.base_url, "sk-test", timeout=30),
            "scripted-model",
        )
        request = EngineRequest(
            session_id="plain",
            system_prompt="s",
            prompt="p",
            worktree=worktree,
            guard=LimitGuard(Limits(max_turns=3)),
        )
        asyncio.run(engine.run(request, lambda _: None))
    offered = {t["function"]["name"] for t in server.turn_requests[0].body["tools"]}
    assert not offered & set(TOOL_NAMES)


def _claude_results(server: ModelServer) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for recorded in server.requests:
        body = recorded.body if isinstance(recorded.body, dict) else {}
        for message in body.get("messages", []):
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    found[block["tool_use_id"]] = block
    return found


def _text(block: dict[str, Any]) -> str:
    """The tool's own text: the first text part (Claude Code appends its system reminders)."""
    content = block.get("content")
    if isinstance(content, str):
        return content
    parts = [p.get("text", "") for p in content or [] if isinstance(p, dict)]
    return parts[0].split("\n<system-reminder>")[0] if parts else ""


def test_the_claude_engine_offers_them_over_mcp(
    world: FeatureWorld, worktree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    with running_model_server("anthropic", _script("mcp__autocoder__")) as server:
        engine = ClaudeEngine(
            credentials=ClaudeCredentials(base_url=server.base_url), max_retries=1
        )
        events: list[EngineEvent] = []
        outcome = asyncio.run(
            asyncio.wait_for(engine.run(_request(worktree, world), events.append), 200)
        )
    assert outcome.final_text == "Planned the features."
    used = [e.name for e in events if isinstance(e, ToolUse)]
    assert used == [f"mcp__autocoder__{name}" for name, _ in CALLS]
    offered = {t["name"] for t in server.turn_requests[0].body.get("tools", [])}
    assert {f"mcp__autocoder__{name}" for name in TOOL_NAMES} <= offered
    blocks = _claude_results(server)
    results = [
        (_text(blocks[f"call_{i:02d}"]), bool(blocks[f"call_{i:02d}"].get("is_error")))
        for i in range(len(CALLS))
    ]
    _assert_what_the_agent_saw(results, world)


def test_the_gate_allows_the_runners_mcp_tools_and_no_other(tmp_path: Path) -> None:
    bash = BashRewriter(
        python="python3", worktree=tmp_path, reports_dir=tmp_path, timeout_s=lambda: 10.0
    )
    gate = ToolGate(
        worktree=tmp_path,
        policy=CommandPolicy.default(tmp_path),
        bash=bash,
        extra_tools=frozenset({"mcp__autocoder__feature_get_next"}),
    )
    assert gate.decide("1", "mcp__autocoder__feature_get_next", {}).allowed
    other = gate.decide("2", "mcp__other__feature_get_next", {})
    assert not other.allowed and "not available" in other.reason
    plain = ToolGate(worktree=tmp_path, policy=CommandPolicy.default(tmp_path), bash=bash)
    assert not plain.decide("3", "mcp__autocoder__feature_get_next", {}).allowed
