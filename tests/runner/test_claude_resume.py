"""Issue #14 on the Claude engine, with the real claude-agent-sdk and its bundled CLI against the
scripted Anthropic server: a run cut short (as by kill -9) resumes in a fresh CLI home and another
working directory from the transcript its checkpoint recorded — the resumed request shows the
earlier turns; a maintainer's `/autocoder tell` reaches the model's next request; a rate limit
or an overload that outlasts the CLI's retries pauses the session instead of failing it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from runner.conversation_state import (
    RESUME_NOTE,
    ConversationState,
    SteeringInbox,
    SteerMessage,
    Transcript,
)
from runner.engines.base import EngineEvent, EngineRequest, QuotaExhausted, ToolOutcome
from runner.engines.claude import ClaudeCredentials, ClaudeEngine
from runner.limits import LimitGuard
from runner.task import Limits
from tests.runner.session_harness import final_turn, write_turn
from tests.scripted_model import Fault, ModelServer, Stall, Turn, running_model_server
from tests.scripted_model.recorder import RecordedRequest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(200)]

MODEL = "claude-sonnet-4-5"


@pytest.fixture(autouse=True)
def model_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-resume-FAKE-key")
    for name in ("ANTHROPIC_BASE_URL", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def _worktree(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "README.md").write_text("# demo\n")
    return path


def _request(worktree: Path, **kwargs: Any) -> EngineRequest:
    return EngineRequest(
        session_id="resume-test",
        system_prompt="You are autocoder, working on one GitHub issue.",
        prompt="Please add one.txt and two.txt.",
        worktree=worktree,
        guard=LimitGuard(Limits(max_turns=20, timeout_s=150, max_cost_usd=5.0)),
        model=MODEL,
        transcript=Transcript("claude"),
        **kwargs,
    )


def _engine(server: ModelServer, **kwargs: Any) -> ClaudeEngine:
    return ClaudeEngine(
        credentials=ClaudeCredentials(base_url=server.base_url), max_retries=1, **kwargs
    )


def _said(request: RecordedRequest) -> str:
    """Every message of a model request as text (contents, tool inputs and results)."""
    return json.dumps(request.body.get("messages", []))


async def _wait(predicate: Any, timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _checkpointed_then_killed(worktree: Path) -> ConversationState:
    """A run that writes one.txt, then is cut short while the model holds its next answer;
    what a checkpoint took meanwhile (the worktree stays as the kill left it)."""
    turns = [
        write_turn("claude", "one.txt", "One!\n", text="Writing one.txt first."),
        Turn(text="never served", stall=Stall(seconds=90)),
    ]
    with running_model_server("anthropic", turns) as server:
        request = _request(worktree)
        transcript = request.transcript
        assert transcript is not None

        async def cut_short() -> ConversationState:
            run = asyncio.ensure_future(_engine(server).run(request, lambda event: None))
            await _wait(lambda: server.recorder.with_role("stall"), 90, "the held answer")
            await asyncio.sleep(1.0)  # the CLI has written the tool result to its transcript
            state = transcript.snapshot("checkpoint-head")
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run
            return state

        return asyncio.run(cut_short())


def test_a_run_cut_short_resumes_from_its_transcript_elsewhere(tmp_path: Path) -> None:
    first = _worktree(tmp_path / "first")
    state = _checkpointed_then_killed(first)
    assert state.engine == "claude" and state.claude_session_id
    assert state.transcript and "one.txt" in state.transcript
    assert (first / "one.txt").read_text() == "One!\n"

    # The next attempt: a new worktree (a fresh clone of the checkpointed branch), a new CLI home.
    second = tmp_path / "second"
    shutil.copytree(first, second)
    stored = ConversationState.model_validate_json(state.model_dump_json())  # as the DB keeps it
    turns = [
        write_turn("claude", "two.txt", "Two!\n", text="Now two.txt."),
        final_turn("Added one.txt and two.txt."),
    ]
    with running_model_server("anthropic", turns) as server:
        request = _request(second, resume=stored)
        events: list[EngineEvent] = []
        outcome = asyncio.run(asyncio.wait_for(_engine(server).run(request, events.append), 120))
        requests = server.turn_requests

    assert outcome.final_text == "Added one.txt and two.txt."
    assert (second / "two.txt").read_text() == "Two!\n"
    resumed = _said(requests[0])
    # The earlier turns come first: the task, the call that wrote one.txt and its result...
    assert "Please add one.txt and two.txt." in resumed
    assert "Writing one.txt first." in resumed and "one.txt" in resumed
    assert resumed.index("Writing one.txt first.") < resumed.index(RESUME_NOTE)
    # ...then the note that the session resumes, as the last user message.
    last = requests[0].body["messages"][-1]
    assert last["role"] == "user" and RESUME_NOTE in json.dumps(last)
    # The resumed session is the same conversation: the next checkpoint records it again.
    assert request.transcript is not None
    assert request.transcript.claude_session_id == state.claude_session_id
    again = request.transcript.snapshot("end")
    assert again.transcript and "Now two.txt." in again.transcript
    assert any(isinstance(e, ToolOutcome) and e.ok for e in events)


def test_a_resume_state_that_is_not_claude_starts_over(tmp_path: Path) -> None:
    worktree = _worktree(tmp_path / "w")
    foreign = ConversationState(engine="openai", messages=[{"role": "user", "content": "hi"}])
    with running_model_server("anthropic", [final_turn("Started fresh.")]) as server:
        request = _request(worktree, resume=foreign)
        outcome = asyncio.run(asyncio.wait_for(_engine(server).run(request, lambda e: None), 90))
        (only,) = server.turn_requests
    assert outcome.final_text == "Started fresh."
    assert "Please add one.txt and two.txt." in _said(only)
    assert RESUME_NOTE not in _said(only)


def test_a_tell_reaches_the_models_next_request(tmp_path: Path) -> None:
    worktree = _worktree(tmp_path / "w")
    delivered: list[SteerMessage] = []
    inbox = SteeringInbox(on_delivered=delivered.append)
    tell = SteerMessage(comment_id=77, author="maintainer", text="Also add a CHANGELOG line.")
    turns = [
        write_turn("claude", "one.txt", "One!\n"),
        write_turn("claude", "CHANGELOG.md", "- one.txt\n"),
        final_turn("Done, with the CHANGELOG line."),
    ]

    def on_event(event: EngineEvent) -> None:
        if isinstance(event, ToolOutcome) and not delivered:
            inbox.put(tell)  # arrives while the agent works, after its first tool call

    with running_model_server("anthropic", turns) as server:
        request = _request(worktree, steering=inbox)
        outcome = asyncio.run(asyncio.wait_for(_engine(server).run(request, on_event), 120))
        requests = server.turn_requests

    assert outcome.final_text == "Done, with the CHANGELOG line."
    assert delivered == [tell]
    told = [i for i, r in enumerate(requests) if "Also add a CHANGELOG line." in _said(r)]
    assert told, [_said(r)[-300:] for r in requests]
    assert told[0] in (1, 2)  # the next request (or the one after, had it already left)
    assert "@maintainer" in _said(requests[told[0]])
    assert (worktree / "CHANGELOG.md").exists()


def test_a_mention_is_not_delivered_unless_the_repository_allows_it(tmp_path: Path) -> None:
    worktree = _worktree(tmp_path / "w")
    inbox = SteeringInbox()
    inbox.put(SteerMessage(comment_id=5, author="maintainer", text="psst", mention=True))
    with running_model_server("anthropic", [final_turn("Done.")]) as server:
        request = _request(worktree, steering=inbox)
        asyncio.run(asyncio.wait_for(_engine(server).run(request, lambda e: None), 90))
        assert "psst" not in "".join(_said(r) for r in server.requests if r.body)


@pytest.mark.parametrize("status", [429, 529])
def test_a_quota_past_the_retries_pauses_instead_of_failing(tmp_path: Path, status: int) -> None:
    worktree = _worktree(tmp_path / "w")
    script = [Turn(text="never", fault=Fault(status=status, times=5, retry_after=1))]
    with running_model_server("anthropic", script) as server:
        request = _request(worktree)
        engine = _engine(server, quota_pause_s=42.0)
        with pytest.raises(QuotaExhausted) as raised:
            asyncio.run(asyncio.wait_for(engine.run(request, lambda e: None), 90))
    assert raised.value.wait_s == 42.0
    assert "(model quota)" in str(raised.value)
    assert os.environ["ANTHROPIC_API_KEY"] not in str(raised.value)
