"""The pure event decision shared by the App and the Action, over GitHub's own example payloads
(vendored from @octokit/webhooks-examples) adjusted to each case."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from runner.decide import Action, Rules, authorize, decide, parse_comment_command
from runner.reporting.markers import pull_request_marker

SAMPLES = Path(__file__).parents[1] / "samples" / "webhooks"
RULES = Rules(trigger_label="autocoder", bot_login="autocoder[bot]", app_id=42)


def sample(name: str, **changes: Any) -> dict[str, Any]:
    source = SAMPLES / f"{name}.json"
    if not source.exists():
        source = SAMPLES / f"{name}.1.json"
    payload: dict[str, Any] = json.loads(source.read_text())
    payload = copy.deepcopy(payload)
    for dotted, value in changes.items():
        target = payload
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return payload


def test_trigger_label_starts_and_needs_write() -> None:
    payload = sample("issues.labeled", label__name="autocoder")
    decision = decide("issues", payload, RULES)
    assert decision.action is Action.START
    assert decision.needs_write
    assert decision.issue_number == payload["issue"]["number"]
    assert decision.repository == payload["repository"]["full_name"]
    assert decision.actor == payload["sender"]["login"]
    assert authorize(decision, "write").action is Action.START
    assert authorize(decision, "admin").action is Action.START
    refused = authorize(decision, "read")
    assert refused.action is Action.REFUSE
    assert "only people with write access" in refused.reason


@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        ("issues.labeled", {"label__name": "bug"}, Action.IGNORE),
        ("issues.unlabeled", {"label__name": "autocoder"}, Action.CANCEL),
        ("issues.unlabeled", {"label__name": "bug"}, Action.IGNORE),
        ("issues.edited", {}, Action.MIRROR),
        ("issues.opened", {}, Action.MIRROR),
        (
            "issues.labeled",
            {"label__name": "autocoder", "sender__login": "autocoder[bot]"},
            Action.IGNORE,
        ),
    ],
)
def test_issue_events(name: str, changes: dict[str, Any], expected: Action) -> None:
    assert decide("issues", sample(name, **changes), RULES).action is expected


def test_an_unknown_command_gets_the_list_of_commands_and_nothing_else() -> None:
    payload = sample("issue_comment.created", comment__body="/autocoder frobnicate")
    payload["issue"].pop("pull_request", None)
    decision = decide("issue_comment", payload, RULES)
    assert decision.action is Action.HELP
    assert not decision.runs_session and not decision.needs_write
    assert decision.reason.startswith("`/autocoder frobnicate` is not a command")
    for command in ("run", "stop", "retry", "status"):
        assert f"`/autocoder {command}`" in decision.reason


def test_a_ping_is_answered_as_a_ping() -> None:
    decision = decide("ping", {"zen": "Keep it logically awesome.", "hook_id": 7}, RULES)
    assert decision.action is Action.IGNORE
    assert decision.reason == "pong: the webhook 7 reaches autocoder"
    assert "not something autocoder acts on" not in decision.reason


def test_a_label_event_without_a_label_says_so() -> None:
    payload = sample("issues.labeled")
    payload.pop("label", None)
    decision = decide("issues", payload, RULES)
    assert decision.action is Action.IGNORE
    assert "None" not in decision.reason
    assert decision.reason == "the event names no label (the trigger label is 'autocoder')"
    other = decide("issues", sample("issues.labeled", label__name="bug"), RULES)
    assert other.reason == "label 'bug' is not the trigger label 'autocoder'"


def test_closing_an_issue_cancels() -> None:
    payload = sample("issues.reopened", action="closed")
    assert decide("issues", payload, RULES).action is Action.CANCEL


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/autocoder run", Action.START),
        ("/autocoder", Action.START),
        ("please\n/autocoder stop", Action.CANCEL),
        ("/autocoder retry", Action.RETRY),
        ("/autocoder status", Action.STATUS),
        ("/autocoder frobnicate", Action.HELP),
        ("/autocoder help", Action.HELP),
        ("/autocoderx run", None),
        ("I love /autocoder run", None),
        ("no command here", None),
    ],
)
def test_comment_commands(body: str, expected: Action | None) -> None:
    assert parse_comment_command(body) is expected


def test_comment_command_on_issue_and_from_own_bot() -> None:
    payload = sample("issue_comment.created", comment__body="/autocoder run")
    payload["issue"].pop("pull_request", None)
    decision = decide("issue_comment", payload, RULES)
    assert decision.action is Action.START and decision.needs_write
    status = sample("issue_comment.created", comment__body="/autocoder status")
    status["issue"].pop("pull_request", None)
    assert decide("issue_comment", status, RULES).needs_write is False
    own = sample(
        "issue_comment.created", comment__body="/autocoder run", sender__login="autocoder[bot]"
    )
    assert decide("issue_comment", own, RULES).action is Action.IGNORE


def _ours(payload: dict[str, Any], issue: int = 7) -> dict[str, Any]:
    payload["pull_request"]["body"] = f"Closes #{issue}\n\n{pull_request_marker(issue)}"
    return payload


def test_review_on_our_pull_request_follows_up() -> None:
    payload = _ours(sample("pull_request_review.submitted", review__state="changes_requested"))
    decision = decide("pull_request_review", payload, RULES)
    assert decision.action is Action.FOLLOW_UP
    assert decision.issue_number == 7
    assert decision.pull_number == payload["pull_request"]["number"]
    assert decision.review_id == payload["review"]["id"]
    approved = _ours(sample("pull_request_review.submitted", review__state="approved"))
    assert decide("pull_request_review", approved, RULES).action is Action.IGNORE
    theirs = sample("pull_request_review.submitted", review__state="changes_requested")
    theirs["pull_request"]["body"] = "a person's PR"
    assert decide("pull_request_review", theirs, RULES).action is Action.IGNORE


def test_lone_review_comment_follows_up_but_review_parts_do_not_twice() -> None:
    payload = _ours(sample("pull_request_review_comment.created"))
    payload["comment"]["pull_request_review_id"] = None
    assert decide("pull_request_review_comment", payload, RULES).action is Action.FOLLOW_UP
    part = _ours(sample("pull_request_review_comment.created"))
    part["comment"]["pull_request_review_id"] = 99
    part["comment"]["in_reply_to_id"] = None
    assert decide("pull_request_review_comment", part, RULES).action is Action.IGNORE


def test_check_run_buttons_and_rerun_on_our_check_run() -> None:
    base = sample("check_run.requested_action")
    base["check_run"]["name"] = "autocoder"
    base["check_run"]["app"]["id"] = 42
    base["check_run"]["external_id"] = "autocoder:issue-5:abc"
    base["requested_action"] = {"identifier": "stop"}
    assert decide("check_run", base, RULES).action is Action.CANCEL
    base["requested_action"] = {"identifier": "retry"}
    decision = decide("check_run", base, RULES)
    assert decision.action is Action.RETRY and decision.issue_number == 5
    rerun = copy.deepcopy(base)
    rerun["action"] = "rerequested"
    assert decide("check_run", rerun, RULES).action is Action.RETRY
    other_app = copy.deepcopy(base)
    other_app["check_run"]["app"]["id"] = 1
    assert decide("check_run", other_app, RULES).action is Action.IGNORE


def test_installation_events_and_unknown_events() -> None:
    assert decide("installation", sample("installation.created"), RULES).action is (
        Action.INSTALLATION
    )
    assert decide("push", sample("push.1"), RULES).action is Action.IGNORE


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_vendored_example_gets_a_decision(path: Path) -> None:
    event = path.stem.split(".")[0]
    decision = decide(event, json.loads(path.read_text()), RULES)
    assert decision.reason
