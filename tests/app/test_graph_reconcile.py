"""The reconcile mirrors the issue graph of unfinished spec sequences: with every `sub_issues`
and `issue_dependencies` delivery lost, the next feature is still chosen by GitHub's relations
(the spec's sub-issues, "blocked by"); an unchanged graph costs 304s only; a relation removed
on GitHub while the server was down leaves the mirror too; a listing GitHub cannot answer keeps
the mirror as it was (here: GitHub's rate limit is spent), and `autocoder sync` says so and
exits 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.db.engine import Database, open_database
from app.db.models import FeatureSequence
from app.github_app import AppGitHub
from app.github_sync import RELATED_BLOCKED_BY
from app.reconcile import ReconcileResult, reconcile_repository
from app.sequence import relations, sequencer
from app.sequence.graph_reconcile import GraphETags, mirror_related
from app.sequence.plan import next_feature
from autocoder.cli import cli
from runner.features.model import FeatureSpec
from runner.features.store import FeatureStore
from runner.github.http import GitHubHTTP
from runner.github.issue_graph import IssueGraph
from tests.app.sync_harness import sync_env
from tests.emulator.client import Emulator
from tests.world import REPO, World, make_world

pytestmark = pytest.mark.slow


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    world = make_world(github_emulator)
    # the server is down: every delivery fails (nothing listens on the discard port)
    github_emulator.set_webhook_url(world.app.id, "http://127.0.0.1:9/api/github/webhooks")
    return world


@pytest.fixture
def github(world: World) -> Iterator[AppGitHub]:
    handle = AppGitHub(world.app.id, world.app.private_key, world.emulator.api_url)
    yield handle
    handle.close()


@pytest.fixture
def maintainer(world: World) -> Iterator[GitHubHTTP]:
    """GitHub's REST API as the maintainer (who changes the issue graph in the web UI, say)."""
    token = world.maintainer_token
    rest = GitHubHTTP(world.emulator.api_url, authorization=lambda: f"token {token}")
    yield rest
    rest.close()


@pytest.fixture
def issue_graph(maintainer: GitHubHTTP) -> IssueGraph:
    return IssueGraph(maintainer, REPO)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    handle = open_database(database_url)
    yield handle
    handle.dispose()


def _shop(world: World, graph: IssueGraph) -> tuple[int, int, int, int]:
    """The spec and its features on GitHub: Login (priority 2), Cart (priority 1, blocked by
    Login), Search (priority 3). Returns (spec, login, cart, search)."""
    spec = world.open_issue("Shop", "The application's specification.")
    created = FeatureStore(graph, spec_issue=spec).create_bulk(
        [
            FeatureSpec("Login", steps=("Sign in",), priority=2),
            FeatureSpec("Cart", steps=("Add an item",), priority=1, depends_on=(0,)),
            FeatureSpec("Search", steps=("Search",), priority=3),
        ]
    )
    login, cart, search = (c.feature.number for c in created)
    return spec, login, cart, search


def _sequence(database: Database, world: World, spec: int, state: str) -> None:
    with database.sessions() as db, db.begin():
        db.add(
            FeatureSequence(
                repository=REPO,
                spec_number=spec,
                state=state,
                mode="stacked",
                attempted=[],
                passing_notified=0,
                installation_id=world.installation_id,
            )
        )


def _relations(database: Database) -> set[tuple[str, int, int]]:
    with database.sessions() as db:
        return {(r.kind, r.number, r.other) for r in relations.of(db, REPO)}


def _next(database: Database, spec: int) -> int | None:
    with database.sessions() as db:
        chosen = next_feature(sequencer.features(db, REPO, spec), [])
    return chosen.number if chosen is not None else None


def _reconcile(
    database: Database, github: AppGitHub, world: World, etags: GraphETags
) -> ReconcileResult:
    return reconcile_repository(
        database.sessions,
        github,
        REPO,
        installation_id=world.installation_id,
        trigger_label="autocoder",
        graph_etags=etags,
    )


def test_lost_relation_deliveries_are_corrected_then_cost_304s(
    world: World,
    github: AppGitHub,
    maintainer: GitHubHTTP,
    issue_graph: IssueGraph,
    database: Database,
) -> None:
    spec, login, cart, search = _shop(world, issue_graph)
    _sequence(database, world, spec, sequencer.RUNNING)
    world.emulator.wait_for_deliveries()
    lost = {(d.event, d.action, d.status) for d in world.emulator.deliveries()}
    assert ("sub_issues", "sub_issue_added", "failed") in lost, lost
    assert ("issue_dependencies", "blocked_by_added", "failed") in lost, lost
    assert _relations(database) == set()
    assert _next(database, spec) is None  # the mirror knows no feature of the spec

    etags = GraphETags()
    first = _reconcile(database, github, world, etags)
    assert first.graph.error is None and first.graph.specs == (spec,)
    assert set(first.graph.changed) == {spec, cart}
    assert _relations(database) == {
        (relations.SUB_ISSUE, login, spec),
        (relations.SUB_ISSUE, cart, spec),
        (relations.SUB_ISSUE, search, spec),
        (relations.BLOCKED_BY, cart, login),
    }
    # Cart has the highest priority but waits for Login, as on GitHub
    assert _next(database, spec) == login
    assert f"issue graph of #{spec}: corrected" in first.describe()

    world.emulator.clear_requests()
    second = _reconcile(database, github, world, etags)
    assert second.graph.error is None and second.graph.changed == ()
    graph_requests = [
        (r.path, r.status)
        for r in world.emulator.requests()
        if r.path.endswith(("/sub_issues", "/dependencies/blocked_by"))
    ]
    # the spec's sub-issues, and the blockers of its three open features
    assert len(graph_requests) == 4, graph_requests
    assert {status for _, status in graph_requests} == {304}, graph_requests

    # While the server is down, the maintainer unblocks Cart and takes Search out of the spec.
    issue_graph.remove_blocked_by(cart, issue_graph.get(login))
    maintainer.request(
        "removing a sub-issue",
        "DELETE",
        f"/repos/{REPO}/issues/{spec}/sub_issue",
        json={"sub_issue_id": issue_graph.get(search).id},
    )
    third = _reconcile(database, github, world, etags)
    assert third.graph.error is None and set(third.graph.changed) == {spec, cart}
    assert _relations(database) == {
        (relations.SUB_ISSUE, login, spec),
        (relations.SUB_ISSUE, cart, spec),
    }
    assert _next(database, spec) == cart


def test_only_unfinished_sequences_are_read(
    world: World, github: AppGitHub, issue_graph: IssueGraph, database: Database
) -> None:
    spec, *_ = _shop(world, issue_graph)
    _sequence(database, world, spec, sequencer.FINISHED)
    world.emulator.clear_requests()
    result = _reconcile(database, github, world, GraphETags())
    assert result.graph.specs == () and _relations(database) == set()
    assert not [r.path for r in world.emulator.requests() if "sub_issues" in r.path]


def test_a_listing_github_cannot_answer_keeps_the_mirror(
    world: World, github: AppGitHub, issue_graph: IssueGraph, database: Database
) -> None:
    spec, login, cart, _search = _shop(world, issue_graph)
    _sequence(database, world, spec, sequencer.PAUSED)
    etags = GraphETags()
    _reconcile(database, github, world, etags)
    known = _relations(database)
    assert (relations.BLOCKED_BY, cart, login) in known

    issue_graph.remove_blocked_by(cart, issue_graph.get(login))
    world.emulator.inject_fault("rate_limit", f"/repos/{REPO}/issues/{cart}/dependencies/*")
    failed = _reconcile(database, github, world, etags)
    assert failed.graph.error is not None and "blockers" in failed.graph.error
    assert f"issue graph of #{spec}: failed" in failed.describe()
    assert _relations(database) == known  # nothing half-written, nothing lost

    world.emulator.clear_faults()
    again = _reconcile(database, github, world, etags)
    assert again.graph.error is None and again.graph.changed == (cart,)
    assert (relations.BLOCKED_BY, cart, login) not in _relations(database)


def test_sync_reports_a_graph_it_could_not_read_and_exits_1(
    world: World,
    issue_graph: IssueGraph,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = sync_env(world, tmp_path, monkeypatch)
    database = open_database(url)
    spec, *_ = _shop(world, issue_graph)
    _sequence(database, world, spec, sequencer.RUNNING)
    database.dispose()
    world.emulator.inject_fault("rate_limit", f"/repos/{REPO}/issues/{spec}/sub_issues")
    failed = CliRunner().invoke(cli, ["sync", REPO])
    assert failed.exit_code == 1, failed.output
    assert f"issue graph of #{spec}: failed" in failed.output

    world.emulator.clear_faults()
    done = CliRunner().invoke(cli, ["sync", REPO])
    assert done.exit_code == 0, done.output
    assert f"issue graph of #{spec}: corrected #{spec}" in done.output


def test_a_relation_mirrored_while_github_was_asked_is_kept(database: Database) -> None:
    """The listing may be older than a webhook that arrived while GitHub answered it: what that
    webhook added stays; what the mirror had before and GitHub no longer lists goes."""
    with database.sessions() as db, db.begin():
        relations.add(db, REPO, relations.BLOCKED_BY, 5, 3)
    with database.sessions() as db:
        asked_after = relations.newest_id(db, REPO)
    with database.sessions() as db, db.begin():  # the `blocked_by_added` webhook
        relations.add(db, REPO, relations.BLOCKED_BY, 5, 4)
    with database.sessions() as db, db.begin():
        changed = mirror_related(db, REPO, 5, RELATED_BLOCKED_BY, [], asked_after=asked_after)
    assert changed
    assert _relations(database) == {(relations.BLOCKED_BY, 5, 4)}
