"""The reconcile: a lost `labeled` delivery is recovered once, and an unchanged repository is
answered with 304s only (the emulator's request log shows it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app.db.engine import Database, open_database
from app.db.models import Feature
from app.github_app import AppGitHub
from app.queue.models import Job
from app.reconcile import ReconcileLoop, ReconcileResult, reconcile_repository
from autocoder.cli import _register, cli
from tests.app.webhook_harness import count_jobs, make_settings, running_app
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
        database.sessions,
        github.rest,
        REPO,
        installation_id=installation_id,
        token=github.token_source(installation_id),
        trigger_label="autocoder",
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
    db_url = f"sqlite:///{tmp_path / 'sync.db'}"
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "AUTOCODER_GITHUB_APP_ID": str(world.app.id),
        "AUTOCODER_GITHUB_PRIVATE_KEY": world.app.private_key,
        "AUTOCODER_GITHUB_API_URL": world.emulator.api_url,
        "AUTOCODER_DATABASE_URL": db_url,
    }.items():
        monkeypatch.setenv(name, value)
    _register()
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
