"""The webhook route against the GitHub emulator: real signed deliveries from GitHub's side,
permission look-ups and replies on GitHub; the app runs under uvicorn on loopback (workers off,
so jobs stay queued where the test can count them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db.models import Delivery, Feature
from app.queue.models import Job
from app.state import AppState
from tests.app.webhook_harness import (
    count_jobs,
    make_settings,
    running_app,
    signed_headers,
    wait_for,
)
from tests.emulator.client import Emulator
from tests.world import MAINTAINER, READER, REPO, World, make_world

pytestmark = pytest.mark.slow


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return make_world(github_emulator)


@pytest.fixture
def served(world: World, tmp_path: Path, database_url: str) -> Iterator[AppState]:
    # Each test that takes it runs on SQLite and on PostgreSQL.
    with running_app(make_settings(tmp_path, world, database_url=database_url)) as (url, app):
        world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
        state: AppState = app.state.autocoder
        yield state


def _jobs(state: AppState) -> list[Job]:
    with state.database.sessions() as db:
        return list(db.scalars(select(Job).order_by(Job.id)))


def _comments(world: World, number: int) -> list[dict[str, Any]]:
    comments: list[dict[str, Any]] = world.api(f"/repos/{REPO}/issues/{number}/comments")
    return comments


def _last_delivery(world: World, event: str, action: str | None = None) -> Any:
    world.emulator.wait_for_deliveries()
    found = [
        d
        for d in world.emulator.deliveries()
        if d.event == event and (action is None or d.action == action)
    ]
    assert found, f"no {event}.{action} delivery"
    return found[-1]


def test_label_by_maintainer_queues_one_job_and_duplicates_do_not(
    world: World, served: AppState
) -> None:
    number = world.open_issue("Add a farewell", "Please add farewell()")
    world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
    delivery = _last_delivery(world, "issues", "labeled")
    assert delivery.status_code == 202, delivery.response_body
    jobs = _jobs(served)
    assert [(j.kind, j.issue_number, j.actor, j.state) for j in jobs] == [
        ("start", number, MAINTAINER, "queued")
    ]
    assert jobs[0].delivery_id == delivery.guid
    # GitHub's "Redeliver": same X-GitHub-Delivery, acknowledged, no second job.
    again = world.emulator.redeliver(delivery.id)
    world.emulator.wait_for_deliveries()
    again = world.emulator.delivery(again.id)
    assert again.status_code == 200, again.response_body
    assert count_jobs(served.database) == 1
    # A second label event for the same issue while its job is queued: still one job.
    world.emulator.act_as(MAINTAINER).unlabel_issue(REPO, number, "autocoder")
    world.emulator.wait_for_deliveries()
    assert [j.state for j in _jobs(served)] == ["cancelled"]
    world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
    world.emulator.act_as(MAINTAINER).comment(REPO, number, "/autocoder run")
    world.emulator.wait_for_deliveries()
    assert [j.state for j in _jobs(served)] == ["cancelled", "queued"]
    replies = wait_for(
        lambda: [c for c in _comments(world, number) if "already" in c["body"]],
        what="the 'already queued' reply",
    )
    assert replies[0]["user"]["login"] == world.app.bot_login


def test_redelivery_after_a_failure_is_processed(world: World, served: AppState) -> None:
    number = world.open_issue("Flaky", "GitHub has a bad minute")
    world.emulator.inject_fault("502", f"/repos/{REPO}/collaborators/*/permission", count=10)
    world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
    failed = _last_delivery(world, "issues", "labeled")
    assert failed.status_code == 503, failed.response_body
    assert count_jobs(served.database) == 0
    with served.database.sessions() as db:
        row = db.scalar(select(Delivery).where(Delivery.delivery_id == failed.guid))
        assert row is not None and row.status == "failed" and "permission" in (row.error or "")
    world.emulator.clear_faults()
    again = world.emulator.redeliver(failed.id)
    world.emulator.wait_for_deliveries()
    assert world.emulator.delivery(again.id).status_code == 202
    assert [(j.kind, j.issue_number) for j in _jobs(served)] == [("start", number)]
    with served.database.sessions() as db:
        row = db.scalar(select(Delivery).where(Delivery.delivery_id == failed.guid))
        assert row is not None and (row.status, row.attempts) == ("processed", 2)
        feature = db.scalar(select(Feature).where(Feature.number == number))
        assert feature is not None and feature.agent_status == "queued"


def test_label_without_write_permission_makes_no_job_and_says_why(
    world: World, served: AppState
) -> None:
    world.emulator.set_permission(REPO, READER, "triage")  # enough to label, not to write
    number = world.open_issue("Please do it", "from a triager", as_user=MAINTAINER)
    world.emulator.act_as(READER).label_issue(REPO, number, "autocoder")
    assert _last_delivery(world, "issues", "labeled").status_code == 202
    assert count_jobs(served.database) == 0
    comments = wait_for(lambda: _comments(world, number), what="the refusal")
    assert comments[-1]["user"]["login"] == world.app.bot_login
    assert f"@{READER}" in comments[-1]["body"]
    assert "write access" in comments[-1]["body"]


def test_command_by_a_reader_is_refused(world: World, served: AppState) -> None:
    number = world.open_issue("Run it", "read-only user asks")
    world.emulator.act_as(READER).comment(REPO, number, "/autocoder run")
    world.emulator.wait_for_deliveries()
    assert count_jobs(served.database) == 0
    refusal = wait_for(
        lambda: [c for c in _comments(world, number) if c["user"]["login"] != READER],
        what="the refusal",
    )
    assert "has read access" in refusal[0]["body"]


def test_comment_by_autocoders_own_bot_does_nothing(world: World, served: AppState) -> None:
    number = world.open_issue("Bot talk", "the bot must not trigger itself")
    token = world.emulator.installation_token(world.app, world.installation_id)
    response = httpx.post(
        f"{world.emulator.api_url}/repos/{REPO}/issues/{number}/comments",
        headers={"Authorization": f"token {token}"},
        json={"body": "/autocoder run"},
    )
    response.raise_for_status()
    delivery = _last_delivery(world, "issue_comment", "created")
    assert delivery.payload["sender"]["login"] == world.app.bot_login
    assert delivery.status_code == 202
    assert delivery.response_body is not None and "ignored" in delivery.response_body
    assert count_jobs(served.database) == 0
    assert len(_comments(world, number)) == 1  # no reply to itself


def test_commands_status_and_stop(world: World, served: AppState) -> None:
    number = world.open_issue("Commands", "status and stop")
    actor = world.emulator.act_as(MAINTAINER)
    actor.comment(REPO, number, "/autocoder status")
    actor.comment(REPO, number, "/autocoder run")
    actor.comment(REPO, number, "/autocoder stop")
    world.emulator.wait_for_deliveries()
    assert [j.state for j in _jobs(served)] == ["cancelled"]

    def bot_replies() -> list[str]:
        return [
            c["body"] for c in _comments(world, number) if c["user"]["login"] == world.app.bot_login
        ]

    replies = wait_for(lambda: len(bot_replies()) == 3 and bot_replies(), what="3 replies")
    assert "status for #" in replies[0] and "nothing queued" in replies[0]
    assert "Queued a session" in replies[1]
    assert "Stopping 1" in replies[2]


def test_a_member_event_forgets_the_remembered_permission(world: World, tmp_path: Path) -> None:
    """Permissions are remembered briefly (a burst of commands costs one look-up), but a change
    of access that GitHub announces (`member`) is not waited out."""
    with running_app(make_settings(tmp_path, world)) as (url, app):
        world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
        state: AppState = app.state.autocoder
        world.emulator.set_permission(REPO, READER, "write")
        first, second, third = (world.open_issue(f"Task {n}", "body") for n in range(3))
        world.emulator.act_as(READER).label_issue(REPO, first, "autocoder")
        assert _last_delivery(world, "issues", "labeled").status_code == 202
        world.emulator.set_permission(REPO, READER, "triage")  # may label, not write
        world.emulator.act_as(READER).label_issue(REPO, second, "autocoder")
        assert _last_delivery(world, "issues", "labeled").status_code == 202
        assert [j.issue_number for j in _jobs(state)] == [first, second]  # remembered

        member = {
            "action": "edited",
            "member": {"login": READER},
            "repository": {"full_name": REPO, "id": 1},
            "installation": {"id": world.installation_id},
            "sender": {"login": MAINTAINER},
        }
        body = json.dumps(member).encode()
        headers = signed_headers(body, "member", world.app.webhook_secret)
        answer = httpx.post(f"{url}/api/github/webhooks", content=body, headers=headers)
        assert answer.status_code == 202, answer.text

        world.emulator.act_as(READER).label_issue(REPO, third, "autocoder")
        assert _last_delivery(world, "issues", "labeled").status_code == 202
        assert [j.issue_number for j in _jobs(state)] == [first, second]  # triage: refused
