"""The webhook's issue facts go into a job's work order only while they can be trusted
(issue #11): a first attempt, claimed soon after the delivery. Otherwise the session reads
GitHub, as a job stored before this change (no facts) always does."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.db.models import utcnow
from app.queue.models import Job
from app.worker.orders import FACTS_FRESH_FOR, OrderMaker
from runner.settings import RunnerSettings
from runner.work_order import IssueFacts, WorkOrder

LABELED = Path(__file__).parents[1] / "samples" / "webhooks" / "issues.labeled.1.json"


def job(**fields: Any) -> Job:
    facts = IssueFacts.from_webhook(json.loads(LABELED.read_text()), 1)
    assert facts is not None
    values: dict[str, Any] = {
        "id": 7,
        "kind": "start",
        "repository": "Codertocat/Hello-World",
        "issue_number": 1,
        "actor": "Codertocat",
        "payload": {"facts": facts.model_dump(mode="json")},
        "attempts": 1,
        "interruptions": 0,
        "created_at": utcnow(),
    }
    values.update(fields)
    return Job(**values)


def order_for(stored: Job) -> WorkOrder:
    maker = OrderMaker(RunnerSettings.model_validate({}), lambda job: "ghs_test-token")
    # The order crosses a pipe as one line of JSON: read it back as the session does.
    return WorkOrder.from_line(maker.make(stored, "s1").to_line())


def test_a_fresh_first_attempt_carries_the_webhooks_facts() -> None:
    facts = order_for(job()).facts
    assert facts is not None
    assert facts.title == "Spelling error in the README file" and facts.comments == 0
    assert facts.repository("Codertocat/Hello-World").default_branch == "master"


def test_stale_retried_or_interrupted_jobs_read_github_again() -> None:
    late = utcnow() - FACTS_FRESH_FOR - timedelta(seconds=1)
    assert order_for(job(created_at=late)).facts is None  # the issue may have changed since
    assert order_for(job(attempts=2)).facts is None  # an earlier attempt commented on it
    assert order_for(job(interruptions=1)).facts is None


def test_a_job_without_facts_or_with_broken_ones_still_runs() -> None:
    assert order_for(job(payload={})).facts is None
    assert order_for(job(payload={"facts": {"title": "no author"}})).facts is None
