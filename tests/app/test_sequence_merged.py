"""`.github/autocoder.yml` `sequence: merged` (issue #13), on the sequencer and a real SQLite
database: a feature that passes makes the sequence wait for its pull request to be merged (the
`pull_request` closed+merged webhook, decided from GitHub's own example payload); the next
feature then starts from the default branch. With `stacked`, the next starts at once on the
branch before — unless that branch's pull request was merged meanwhile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app import mirror
from app.db.engine import open_database
from app.queue import store
from app.queue.models import Job
from app.sequence import relations, sequencer
from runner.decide import Action, decide
from runner.features.body import render_body
from runner.features.model import FEATURE_LABEL, FeatureSpec
from runner.reporting.markers import pull_request_marker
from tests.runner.test_decide import RULES, sample

REPO = "octo/shop"
SPEC, LOGIN, CART = 1, 2, 3
LOGIN_BRANCH = "autocoder/issue-2-login"


def issue(number: int, title: str, labels: list[str], priority: int = 1) -> dict[str, Any]:
    body = render_body(FeatureSpec(title=title, priority=priority), f"k{number}")
    return {
        "number": number,
        "title": title,
        "body": body,
        "state": "open",
        "labels": [{"name": name} for name in labels],
        "user": {"login": "mona"},
        "updated_at": "2025-05-01T00:00:00Z",
    }


def shop(db: Session) -> None:
    """A spec with Login, then Cart (blocked by Login)."""
    mirror.upsert_issue(db, REPO, issue(SPEC, "Shop", ["autocoder:spec"]))
    mirror.upsert_issue(db, REPO, issue(LOGIN, "Login", [FEATURE_LABEL], 2))
    mirror.upsert_issue(db, REPO, issue(CART, "Cart", [FEATURE_LABEL], 1))
    for number in (LOGIN, CART):
        relations.add(db, REPO, relations.SUB_ISSUE, number, SPEC)
    relations.add(db, REPO, relations.BLOCKED_BY, CART, LOGIN)


def only_job(db: Session, number: int) -> Job:
    [job] = store.jobs_for_issue(db, REPO, number)
    return job


def finish(db: Session, job: Job, mode: str) -> str | None:
    """The feature's session ended, passing, on its own branch; `mode` as it read it."""
    job.state = "succeeded"
    mirror.record_session_started(db, repository=REPO, issue_number=job.issue_number).branch = (
        f"autocoder/issue-{job.issue_number}-x" if job.issue_number != LOGIN else LOGIN_BRANCH
    )
    return sequencer.after_job(
        db, job, "succeeded", passing=[job.issue_number], branch=LOGIN_BRANCH, mode=mode
    )


def merged_webhook(number: int) -> int:
    """The `pull_request` closed+merged webhook of autocoder's PR for `number`, decided."""
    payload = sample(
        "pull_request.closed",
        pull_request__merged=True,
        pull_request__body=f"Closes #{number}\n\n{pull_request_marker(number)}",
    )
    decision = decide("pull_request", payload, RULES)
    assert decision.action is Action.MERGED, decision.reason
    assert decision.issue_number is not None
    return decision.issue_number


def test_merged_waits_for_the_merge_then_starts_from_the_default_branch(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'autocoder.db'}")
    with database.sessions() as db, db.begin():
        shop(db)
        sequencer.start(db, REPO, SPEC, installation_id=7, actor="mona")
        login = only_job(db, LOGIN)
        said = finish(db, login, "merged")
        assert said == f"waiting for the pull request of #{LOGIN} to be merged"
        row = sequencer.get(db, REPO, SPEC)
        assert row is not None and (row.state, row.mode) == ("waiting", "merged")
        assert store.jobs_for_issue(db, REPO, CART) == []  # nothing starts before the merge
        # a label or /autocoder resume meanwhile does not jump the merge
        sequencer.resume(db, REPO, SPEC, installation_id=7, actor="mona")
        assert store.jobs_for_issue(db, REPO, CART) == []

        sequencer.pull_merged(db, REPO, merged_webhook(LOGIN))
        cart = only_job(db, CART)
        assert cart.payload["base_branch"] is None  # the default branch, which has Login now
        assert row.state == "running" and row.current_feature == CART


def test_a_merge_of_another_pull_request_does_not_start_anything(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'autocoder.db'}")
    with database.sessions() as db, db.begin():
        shop(db)
        sequencer.start(db, REPO, SPEC, installation_id=7, actor="mona")
        finish(db, only_job(db, LOGIN), "merged")
        sequencer.pull_merged(db, REPO, 99)
        assert store.jobs_for_issue(db, REPO, CART) == []
    payload = sample("pull_request.closed", pull_request__merged=False)
    assert decide("pull_request", payload, RULES).action is Action.IGNORE  # closed, not merged


def test_stacked_goes_on_at_once_unless_the_base_was_merged(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'autocoder.db'}")
    with database.sessions() as db, db.begin():
        shop(db)
        sequencer.start(db, REPO, SPEC, installation_id=7, actor="mona")
        finish(db, only_job(db, LOGIN), "stacked")
        cart = only_job(db, CART)
        assert cart.payload["base_branch"] == LOGIN_BRANCH  # stacked on Login's branch
        row = sequencer.get(db, REPO, SPEC)
        assert row is not None and row.base_branch == LOGIN_BRANCH
        sequencer.pull_merged(db, REPO, LOGIN)  # Login's PR merged while Cart runs
        assert row.base_branch is None  # a feature not stacked on Cart starts from main
