"""The reconcile: a lost `labeled` delivery is recovered once, and an unchanged repository is
answered with 304s only (the emulator's request log shows it); a label added by someone without
write access (refused on the webhook path, or added while the server was down) never starts work
through the reconcile or `autocoder sync`, until a person with write access labels the issue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app.db.engine import Database, open_database
from app.db.models import Feature
from app.github_app import AppGitHub
from app.queue.models import Job
from app.reconcile import ReconcileLoop, ReconcileResult, reconcile_repository
from autocoder.cli import cli
from tests.app.sync_harness import sync_env
from tests.app.webhook_harness import count_jobs, make_settings, running_app, wait_for
from tests.emulator.client import Emulator
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return make_world(github_emulator)


@pytest.fixture
def github(world: World) -> Iterator[AppGitHub]:
    handle = AppGitHub(world.app.id, world.app.private_key, world.emulator.api_url)
    yield handle
    handle.close()


def _reconcile(database: Database, github: AppGitHub, installation_id: int) -> ReconcileResult:
    return reconcile_repository(
        database.sessions, github, REPO, installation_id=installation_id, trigger_label="autocoder"
    )


def test_lost_label_is_queued_once_then_304s(
    world: World, github: AppGitHub, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, world)
    with running_app(settings) as (url, app):
        world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
        database: Database = app.state.autocoder.database
        labelled = world.open_issue("Lost trigger", "the labeled delivery never arrives")
        other = world.open_issue("Unlabelled", "not for autocoder")
        world.emulator.wait_for_deliveries()
        world.emulator.drop_next_delivery()
        world.emulator.act_as(MAINTAINER).label_issue(REPO, labelled, "autocoder")
        world.emulator.wait_for_deliveries()
        assert world.emulator.deliveries()[-1].status == "dropped"
        assert count_jobs(database) == 0

        first = _reconcile(database, github, world.installation_id)
        assert (first.not_modified, first.queued) == (False, (labelled,))
        with database.sessions() as db:
            jobs = list(db.scalars(select(Job)))
            assert [(j.kind, j.issue_number, j.state) for j in jobs] == [
                ("start", labelled, "queued")
            ]
            feature = db.scalar(select(Feature).where(Feature.number == labelled))
            assert feature is not None and feature.agent_status == "queued"

        world.emulator.clear_requests()
        second = _reconcile(database, github, world.installation_id)
        assert second.not_modified and second.queued == ()
        requests = world.emulator.requests()
        assert requests, "the second reconcile asked GitHub nothing"
        assert {r.status for r in requests} == {304}, [(r.path, r.status) for r in requests]
        assert count_jobs(database) == 1

        # A change (a comment) makes it read again, but queues nothing twice.
        world.emulator.act_as(MAINTAINER).comment(REPO, labelled, "any news?")
        world.emulator.wait_for_deliveries()
        third = _reconcile(database, github, world.installation_id)
        assert (third.not_modified, third.queued) == (False, ())
        assert count_jobs(database) == 1
        assert other not in (first.queued + third.queued)


def test_autocoder_sync(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    number = world.open_issue("Synced", "labelled while nobody listened")
    world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
    db_url = sync_env(world, tmp_path, monkeypatch)
    first = CliRunner().invoke(cli, ["sync", REPO])
    assert first.exit_code == 0, first.output
    assert f"queued #{number}" in first.output
    second = CliRunner().invoke(cli, ["sync", REPO])
    assert second.exit_code == 0, second.output
    assert "unchanged (304)" in second.output
    database = open_database(db_url)
    assert count_jobs(database) == 1
    database.dispose()


def test_loop_reconciles_the_registry(world: World, github: AppGitHub, tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'loop.db'}")
    number = world.open_issue("Loop", "found by the periodic reconcile")
    world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
    from app import mirror

    with database.sessions() as db, db.begin():
        mirror.upsert_repository(db, REPO, installation_id=world.installation_id)
    results: list[ReconcileResult] = []
    loop = ReconcileLoop(
        database.sessions,
        lambda repo, iid: _reconcile(database, github, iid),
        interval_s=3600,
        on_result=results.append,
    )
    assert [r.queued for r in loop.reconcile_all()] == [(number,)]
    assert [r.not_modified for r in loop.reconcile_all()] == [True]
    assert len(results) == 2
    database.dispose()


TRIAGER = "trina"


def _bot_comments(world: World, number: int) -> list[str]:
    comments = world.api(f"/repos/{REPO}/issues/{number}/comments")
    return [c["body"] for c in comments if c["user"]["login"] == world.app.bot_login]


def _jobs(database: Database) -> list[tuple[str, int, str | None]]:
    with database.sessions() as db:
        return [(j.kind, j.issue_number, j.actor) for j in db.scalars(select(Job))]


def test_label_refused_on_the_webhook_path_is_never_queued_by_the_reconcile(
    world: World, github: AppGitHub, tmp_path: Path
) -> None:
    world.emulator.add_user(TRIAGER, "triage", REPO)
    settings = make_settings(tmp_path, world)
    with running_app(settings) as (url, app):
        world.emulator.set_webhook_url(world.app.id, f"{url}/api/github/webhooks")
        database: Database = app.state.autocoder.database
        number = world.open_issue("Triaged", "labelled by someone who may not ask")
        world.emulator.act_as(TRIAGER).label_issue(REPO, number, "autocoder")
        world.emulator.wait_for_deliveries()
        [refusal] = wait_for(lambda: _bot_comments(world, number), what="the refusal comment")
        assert "did not start" in refusal and f"@{TRIAGER} has read access" in refusal
        assert count_jobs(database) == 0

        first = _reconcile(database, github, world.installation_id)
        assert (first.not_modified, first.queued, first.refused) == (False, (), (number,))
        assert count_jobs(database) == 0

        # Write access gained later does not turn the refused label into a request.
        world.emulator.set_permission(REPO, TRIAGER, "write")
        world.emulator.act_as(MAINTAINER).comment(REPO, number, "any news?")
        world.emulator.wait_for_deliveries()
        second = _reconcile(database, github, world.installation_id)
        assert (second.not_modified, second.queued, second.refused) == (False, (), (number,))
        assert count_jobs(database) == 0
        assert len(_bot_comments(world, number)) == 1, "explained once, by the webhook path"

        # A person with write access labels it again while nobody listens: that is recovered.
        world.emulator.drop_next_delivery(2)
        world.emulator.advance_clock(2)  # GitHub's times have seconds: let `updated_at` move
        world.emulator.act_as(MAINTAINER).unlabel_issue(REPO, number, "autocoder")
        world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
        world.emulator.wait_for_deliveries()
        assert count_jobs(database) == 0
        third = _reconcile(database, github, world.installation_id)
        assert (third.queued, third.refused) == ((number,), ())
        assert _jobs(database) == [("start", number, MAINTAINER)]


def test_labels_added_while_down_are_judged_by_who_added_them(
    world: World, github: AppGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.emulator.add_user(TRIAGER, "triage", REPO)
    refused = world.open_issue("Triaged while down", "labelled by someone who may not ask")
    world.emulator.act_as(TRIAGER).label_issue(REPO, refused, "autocoder")
    lost = world.open_issue("Lost while down", "labelled by a maintainer")
    world.emulator.act_as(MAINTAINER).label_issue(REPO, lost, "autocoder")
    by_bot = world.open_issue("Labelled by autocoder", "its own label is no request")
    token = world.emulator.installation_token(world.app, world.installation_id)
    added = httpx.post(
        f"{world.emulator.api_url}/repos/{REPO}/issues/{by_bot}/labels",
        json={"labels": ["autocoder"]},
        headers={"Authorization": f"token {token}"},
    )
    assert added.status_code == 200

    db_url = sync_env(world, tmp_path, monkeypatch)
    synced = CliRunner().invoke(cli, ["sync", REPO])
    assert synced.exit_code == 0, synced.output
    assert f"queued #{lost};" in synced.output and f"refused #{refused} " in synced.output
    database = open_database(db_url)
    assert _jobs(database) == [("start", lost, MAINTAINER)]
    [refusal] = _bot_comments(world, refused)
    assert f"@{TRIAGER} has read access" in refusal
    assert _bot_comments(world, by_bot) == []

    # The periodic reconcile, after a change, still queues nothing for them, and says nothing
    # again.
    world.emulator.act_as(MAINTAINER).comment(REPO, refused, "ping")
    world.emulator.act_as(MAINTAINER).comment(REPO, by_bot, "ping")
    with database.sessions() as db, db.begin():
        from app import mirror

        mirror.upsert_repository(db, REPO, installation_id=world.installation_id)
    loop = ReconcileLoop(
        database.sessions,
        lambda repo, iid: _reconcile(database, github, iid),
        interval_s=3600,
    )
    [result] = loop.reconcile_all()
    assert (result.not_modified, result.queued, result.refused) == (False, (), (refused,))
    assert _jobs(database) == [("start", lost, MAINTAINER)]
    assert len(_bot_comments(world, refused)) == 1
    again = CliRunner().invoke(cli, ["sync", REPO])
    assert again.exit_code == 0 and "unchanged (304)" in again.output, again.output
    database.dispose()


def test_a_permission_github_cannot_tell_defers_the_issue(
    world: World, github: AppGitHub, tmp_path: Path
) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'defer.db'}")
    number = world.open_issue("Deferred", "GitHub stumbles on the permission look-up")
    world.emulator.act_as(MAINTAINER).label_issue(REPO, number, "autocoder")
    world.emulator.inject_fault("502", f"/repos/{REPO}/collaborators/*", count=10)
    first = _reconcile(database, github, world.installation_id)
    assert (first.queued, first.refused, first.deferred) == ((), (), (number,))
    assert count_jobs(database) == 0
    world.emulator.clear_faults()
    second = _reconcile(database, github, world.installation_id)
    assert second.not_modified is False, "a deferred issue is read again, not hidden by a 304"
    assert second.queued == (number,)
    database.dispose()
