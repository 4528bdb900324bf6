"""An issue's agent status has one writer (`app.status`): every change — a job stored, a session
started, jobs cancelled, the issue closed, a job's new state — goes through `status_after`, and
no other module assigns `agent_status`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.db.models import AgentStatus as S
from app.status import Change, record_status, status_after
from tests.app.queue_harness import REPO, open_db

APP = Path(__file__).resolve().parents[2] / "app"


@pytest.mark.parametrize(
    ("current", "change", "kwargs", "after"),
    [
        (S.PENDING, Change.QUEUED, {}, S.QUEUED),
        (S.FAILED, Change.QUEUED, {}, S.QUEUED),  # a retry
        (S.RUNNING, Change.QUEUED, {}, S.RUNNING),  # a follow-up queued behind a running job
        (S.QUEUED, Change.STARTED, {}, S.RUNNING),
        (S.QUEUED, Change.CANCELLED, {"count": 1}, S.PENDING),
        (S.QUEUED, Change.CANCELLED, {"count": 0}, S.PENDING),  # nothing left queued
        (S.PR_OPEN, Change.CANCELLED, {"count": 0}, S.PR_OPEN),  # `/autocoder stop` after a PR
        (S.PR_OPEN, Change.CLOSED, {"count": 0}, S.DONE),  # closed by its merged PR
        (S.RUNNING, Change.CLOSED, {"count": 1}, S.PENDING),
        (S.FAILED, Change.CLOSED, {"count": 0}, S.FAILED),
        (S.RUNNING, Change.JOB, {"job_state": "succeeded", "pull_request_url": "u"}, S.PR_OPEN),
        (S.RUNNING, Change.JOB, {"job_state": "succeeded"}, S.DONE),
        (S.RUNNING, Change.JOB, {"job_state": "failed"}, S.FAILED),  # failed for good
        (S.RUNNING, Change.JOB, {"job_state": "queued"}, S.QUEUED),  # retried or taken over
        (S.RUNNING, Change.JOB, {"job_state": "cancelled"}, S.PENDING),
        (S.DONE, Change.SET, {"to": S.QUEUED}, S.QUEUED),
    ],
)
def test_status_after_each_change(
    current: S, change: Change, kwargs: dict[str, object], after: S
) -> None:
    assert status_after(current, change, **kwargs) is after  # type: ignore[arg-type]


def test_record_status_writes_the_feature_and_leaves_unknown_issues_alone(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    with database.sessions() as db:
        assert record_status(db, REPO, 5, Change.CANCELLED, count=1, create=False) is None
        feature = record_status(db, REPO, 5, Change.QUEUED)
        assert feature is not None and feature.agent_status == S.QUEUED.value
        record_status(db, REPO, 5, Change.JOB, job_state="failed")
        db.commit()
        assert feature.agent_status == S.FAILED.value


def test_no_module_but_app_status_assigns_an_agent_status() -> None:
    writers = []
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AugAssign | ast.AnnAssign)
                else []
            )
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "agent_status":
                    line = getattr(node, "lineno", 0)
                    writers.append(f"{path.relative_to(APP.parent)}:{line}")
    assert len(writers) == 1 and writers[0].startswith("app/status.py:"), writers
