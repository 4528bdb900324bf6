"""The JSON API and metrics over the mirror: features with their last session, a session with
its log."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from app import mirror
from app.db.models import SessionRecord
from app.main import create_app
from app.state import AppState
from tests.app.webhook_harness import make_settings


def test_features_and_sessions(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), run_workers=False, run_reconcile=False)
    state: AppState = app.state.autocoder
    with state.database.sessions() as db, db.begin():
        mirror.upsert_issue(
            db,
            "octo/hello",
            {
                "number": 3,
                "title": "Add farewell",
                "body": "please",
                "state": "open",
                "labels": [{"name": "autocoder"}],
                "user": {"login": "mona"},
                "updated_at": "2024-05-01T10:00:00Z",
            },
        )
        started = mirror.record_session_started(
            db, repository="octo/hello", issue_number=3, job_id=9, engine="openai", model="m"
        )
        mirror.append_session_log(db, started.id, ["turn 1", "turn 2"])
        session_id = started.id
    with state.database.sessions() as db, db.begin():
        assert mirror.get_feature(db, "octo/hello", 3).agent_status == "running"  # type: ignore[union-attr]
        row = db.get(SessionRecord, session_id)
        assert row is not None
        row.started_at -= timedelta(seconds=42)
        mirror.record_session_finished(
            db,
            session_id,
            conclusion="success",
            turns=4,
            input_tokens=100,
            output_tokens=50,
            cost_usd=0.25,
            pull_request_number=4,
            pull_request_url="http://github.test/octo/hello/pull/4",
            check_run_url="http://github.test/octo/hello/runs/1",
        )

    with TestClient(app) as client:
        features = client.get("/api/repos/octo/hello/features").json()
        assert features["repository"] == "octo/hello"
        [feature] = features["features"]
        assert feature["number"] == 3 and feature["labels"] == ["autocoder"]
        assert feature["agent_status"] == "pr_open"
        assert feature["last_session"]["pull_request_number"] == 4
        assert feature["active_job"] is None
        assert client.get("/api/repos/octo/other/features").json()["features"] == []

        session = client.get(f"/api/sessions/{session_id}").json()
        assert session["log"] == "turn 1\nturn 2\n"
        assert (session["turns"], session["cost_usd"], session["conclusion"]) == (
            4,
            0.25,
            "success",
        )
        assert client.get("/api/sessions/999").status_code == 404

        text = client.get("/metrics").text
        assert "autocoder_session_duration_seconds_count 1.0" in text
        assert 'autocoder_session_duration_seconds_bucket{le="60.0"} 1.0' in text
        assert 'autocoder_features{status="pr_open"} 1.0' in text


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    one = create_app(make_settings(tmp_path / "a"), run_workers=False)
    two = create_app(make_settings(tmp_path / "b"), run_workers=False)
    assert one.state.autocoder.metrics.registry is not two.state.autocoder.metrics.registry
