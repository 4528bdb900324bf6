"""Start, Stop and Retry over real HTTP do what `/autocoder run`, `stop` and `retry` do — the
webhook handler's own decision path queues or cancels — recorded as done by the signed-in
person; without the page's CSRF token and Origin nothing happens."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy import select

from app import mirror
from app.db.models import Delivery
from app.queue.models import Job
from tests.app.webhook_harness import make_settings, running_app
from tests.dashboard import data

USER, PASSWORD = "ops", "correct horse battery"


def csrf_of(client: httpx.Client, path: str) -> str:
    page = client.get(path).text
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', page)
    assert match, page
    return match.group(1)


def test_start_stop_retry_as_the_signed_in_person(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, allow_remote=True, dashboard_user=USER, dashboard_password=PASSWORD
    )
    with running_app(settings) as (url, app):
        sessions = app.state.autocoder.database.sessions
        data.add_repository(sessions)
        data.add_issue(sessions, 4, "Add a farewell")
        with httpx.Client(base_url=url, auth=(USER, PASSWORD), timeout=10) as client:
            token = csrf_of(client, "/repos/octo/hello")
            headers = {"X-CSRF-Token": token, "Origin": url}
            base = "/api/dashboard/repos/octo/hello/issues/4"

            assert client.post(f"{base}/start", headers={"Origin": url}).status_code == 403
            assert client.post(f"{base}/start", headers={"X-CSRF-Token": token}).status_code == 403
            with sessions() as db:
                assert db.scalars(select(Job)).all() == []

            started = client.post(f"{base}/start", headers=headers).json()
            assert started["status"] == "processed" and started["job_id"]
            again = client.post(f"{base}/start", headers=headers).json()
            assert again["job_id"] is None and "already has a queued job" in again["detail"]
            with sessions() as db:
                [job] = db.scalars(select(Job)).all()
                assert (job.kind, job.state, job.actor, job.installation_id) == (
                    "start",
                    "queued",
                    USER,
                    data.INSTALLATION,
                )
                assert mirror.get_feature(db, "octo/hello", 4).agent_status == "queued"  # type: ignore[union-attr]
            board = client.get("/api/dashboard/repos/octo/hello/board").json()
            queued = next(c for c in board["columns"] if c["id"] == "queued")
            assert [card["number"] for card in queued["cards"]] == [4]
            assert queued["cards"][0]["actions"] == ["stop"]

            stopped = client.post(f"{base}/stop", headers=headers).json()
            assert "cancelled 1 job(s)" in stopped["detail"]
            assert data.job_row(sessions, started["job_id"]).state == "cancelled"

            retried = client.post(f"{base}/retry", headers=headers).json()
            with sessions() as db:
                job = db.get(Job, retried["job_id"])
                assert job is not None and (job.kind, job.state, job.actor) == (
                    "retry",
                    "queued",
                    USER,
                )
                outcomes = db.scalars(
                    select(Delivery.outcome)
                    .where(Delivery.event == "dashboard")
                    .order_by(Delivery.id)
                ).all()
            assert outcomes == [
                f"queued start job {started['job_id']}: @{USER} pressed Start on the dashboard",
                "not queued: octo/hello#4 already has a queued job",
                f"cancelled 1 job(s): @{USER} pressed Stop on the dashboard",
                f"queued retry job {retried['job_id']}: @{USER} pressed Retry on the dashboard",
            ]
            assert (
                client.post(
                    "/api/dashboard/repos/octo/nope/issues/4/start", headers=headers
                ).status_code
                == 404
            )
            assert client.post(f"{base}/delete", headers=headers).status_code == 422
