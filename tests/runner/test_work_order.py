"""The work order (worker → session, one JSON line) and the event stream (session → worker):
what crosses the process boundary is validated, round-trips exactly, and never carries the
App's key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from runner.decide import Rules, decide
from runner.events import (
    CheckRun,
    Command,
    Result,
    Stop,
    TokenRefresh,
    control_line,
    event_line,
    parse_control,
    parse_event,
)
from runner.settings import RunnerSettings
from runner.task import TaskKind
from runner.work_order import WorkKind, WorkOrder, session_settings

SETTINGS = RunnerSettings.model_validate(
    {
        "engine": "openai",
        "AUTOCODER_API_KEY": "sk-model",
        "ANTHROPIC_API_KEY": "sk-ant",
        "max_turns": 7,
        "cache_dir": "/var/cache/autocoder",
        "sandbox": "off",
    }
)


def order(**changes: object) -> WorkOrder:
    values: dict[str, object] = {
        "job_id": 4,
        "attempt": 2,
        "session_id": "abc",
        "kind": "follow_up",
        "repository": "octo/hello",
        "issue_number": 3,
        "pull_number": 9,
        "review_id": 77,
        "actor": "mona",
        "github_token": "ghs_installation",
        "settings": session_settings(SETTINGS, work_dir=None),
    }
    values.update(changes)
    return WorkOrder.model_validate(values)


def test_a_work_order_round_trips_through_one_line_secrets_and_all() -> None:
    sent = order()
    line = sent.to_line()
    assert line.endswith("\n") and line.count("\n") == 1
    got = WorkOrder.from_line(line)
    assert got == sent
    assert got.settings.api_key is not None
    assert got.settings.api_key.get_secret_value() == "sk-model"
    assert got.settings.max_turns == 7 and str(got.settings.sandbox) == "off"
    assert got.github_token.get_secret_value() == "ghs_installation"
    assert "sk-model" not in repr(got) and "ghs_installation" not in repr(got)


def test_a_work_order_never_carries_the_app_key_or_another_token() -> None:
    with_key = SETTINGS.model_copy(update={"github_private_key": "-----BEGIN RSA PRIVATE KEY-----"})
    with pytest.raises(ValidationError, match="private key"):
        order(settings=with_key)
    assert session_settings(with_key, work_dir=None).github_private_key is None


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"kind": "follow_up", "pull_number": None}, "names no pull request"),
        ({"kind": "rebase"}, "kind"),
        ({"repository": "../etc"}, "repository"),
        ({"surprise": 1}, "surprise"),
        ({"version": 2}, "version"),
    ],
)
def test_an_invalid_work_order_is_refused(changes: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        order(**changes)


def test_one_vocabulary_from_decision_to_task() -> None:
    payload = {
        "action": "labeled",
        "label": {"name": "autocoder"},
        "issue": {"number": 3},
        "repository": {"full_name": "octo/hello"},
        "sender": {"login": "mona"},
    }
    assert decide("issues", payload, Rules()).work_kind is WorkKind.START
    assert decide("issues", {**payload, "action": "closed"}, Rules()).work_kind is None
    assert WorkKind.RETRY.task_kind is TaskKind.NEW_WORK
    assert WorkKind.FOLLOW_UP.task_kind is TaskKind.FOLLOW_UP
    assert [k.exclusive for k in WorkKind] == [True, False, True, True, True]


def test_events_round_trip_and_unknown_lines_are_refused() -> None:
    for event in (
        CheckRun(id=5, state="in_progress", head_sha="a" * 40),
        Command(command="pytest -q", exit_code=1),
        Result(conclusion="success", pull_number=9, pull_request_url="https://x/pull/9"),
    ):
        assert parse_event(event_line(event)) == event
    with pytest.raises(ValidationError):
        parse_event('{"type": "result", "conclusion": "maybe"}')
    with pytest.raises(ValidationError):
        parse_event('{"type": "rm -rf"}')


def test_control_lines_round_trip() -> None:
    assert parse_control(control_line(Stop(reason="unlabelled"))) == Stop(reason="unlabelled")
    refreshed = parse_control(control_line(TokenRefresh(token="ghs_new")))  # type: ignore[arg-type]
    assert isinstance(refreshed, TokenRefresh)
    assert refreshed.token.get_secret_value() == "ghs_new"
