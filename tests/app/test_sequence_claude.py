"""A spec's sequence with the Claude engine (issue #13): the real claude-agent-sdk and its
bundled Claude Code CLI against the scripted Anthropic server, under `autocoder serve` with the
GitHub emulator. The initializer calls `mcp__autocoder__feature_create_bulk` (the in-process MCP
server), each feature session writes its feature with Bash and calls
`mcp__autocoder__feature_mark_passing`; the runner's checks pass it, and the spec reads 2/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.sequence_harness import (
    FEATURES,
    feature_turns,
    initializer_turns,
    labels_of,
    progress,
    pulls_for,
    sequence_world,
    serve_env,
)
from tests.app.serve_harness import serve
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, REPO

pytestmark = pytest.mark.slow


def test_claude_engine_runs_initializer_and_features_over_mcp(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = sequence_world(github_emulator)
    spec = world.open_issue("Shop app", "Build a shop.")
    login, cart = spec + 1, spec + 2
    plan = FEATURES[:2]  # Login, then Cart (blocked by Login)
    turns = [
        *initializer_turns("claude", plan),
        *feature_turns(login, engine="claude"),
        *feature_turns(cart, engine="claude"),
    ]
    with running_model_server("anthropic", turns) as model:
        env = serve_env(world, tmp_path, model.base_url, None, AUTOCODER_ENGINE="claude")
        maintainer = world.emulator.act_as(MAINTAINER)
        with serve(env, tmp_path / "serve.log") as url:
            world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
            maintainer.label_issue(REPO, spec, "autocoder:spec")
            wait_for(lambda: pulls_for(world, spec), timeout=240, what="the initializer's PR")
            subs = world.api(f"/repos/{REPO}/issues/{spec}/sub_issues")
            assert [s["number"] for s in subs] == [login, cart]
            blockers = world.api(f"/repos/{REPO}/issues/{cart}/dependencies/blocked_by")
            assert [b["number"] for b in blockers] == [login]

            maintainer.label_issue(REPO, spec, "autocoder:auto")
            body = wait_for(
                lambda: progress(world, spec, "finished"), timeout=400, what="2/2 with claude"
            )
            assert "2/2 features passing" in body, body

    labels = labels_of(world)
    assert all("autocoder:passing" in labels[n] for n in (login, cart))
    for number in (login, cart):
        [pull] = pulls_for(world, number)
        assert world.git("show", f"{pull['head']['sha']}:features/{number}") == "ok"
    assert model.state.player.turns_served == len(turns)
    # What Claude Code was shown after each MCP call: the tools' own answers, not errors.
    shown = [
        block
        for request in model.requests
        if isinstance(request.body, dict)
        for message in request.body.get("messages", [])
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    texts = {
        item["text"]
        for block in shown
        if isinstance(block.get("content"), list)
        for item in block["content"]
        if item.get("type") == "text"
    }
    answers = [json.loads(t) for t in texts if t.startswith("{")]
    [created] = [a for a in answers if "created" in a]
    assert created["created"] == 2
    assert [f["number"] for f in created["features"]] == [login, cart]
    marked = sorted(a["number"] for a in answers if a.get("recorded") is True)
    assert marked == [login, cart], answers
    assert not any(block.get("is_error") for block in shown)
