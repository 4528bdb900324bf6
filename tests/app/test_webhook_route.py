"""The webhook route on its own (no GitHub needed): every vendored example payload, size and
signature limits, malformed bodies, unknown events. Nothing here may answer 5xx."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db.models import Delivery, Feature, Installation, Repository
from app.main import create_app
from app.state import AppState
from tests.app.webhook_harness import (
    SECRET,
    count_deliveries,
    count_jobs,
    make_settings,
    post_event,
    signed_headers,
)

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "webhooks"
EVENTS = (
    "issues",
    "issue_comment",
    "pull_request_review",
    "pull_request_review_comment",
    "check_run",
    "installation",
    "installation_repositories",
)
SAMPLE_FILES = sorted(p for p in SAMPLES.glob("*.json") if p.name.split(".")[0] in EVENTS)


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    """The App on a fresh database: each test that takes it runs on SQLite and on PostgreSQL."""
    settings = make_settings(tmp_path, database_url=database_url)
    app = create_app(settings, run_workers=False, run_reconcile=False)
    with TestClient(app) as test_client:
        yield test_client


def _state(client: TestClient) -> AppState:
    state: AppState = client.app.state.autocoder  # type: ignore[attr-defined]
    return state


def test_samples_cover_every_event() -> None:
    assert {p.name.split(".")[0] for p in SAMPLE_FILES} == set(EVENTS)


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_payload(client: TestClient, sample: Path) -> None:
    event = sample.name.split(".")[0]
    body = sample.read_bytes()
    wrong = signed_headers(body, event, secret="not the secret")
    refused = client.post("/api/github/webhooks", content=body, headers=wrong)
    assert refused.status_code == 401
    assert count_deliveries(_state(client).database) == 0

    answer = client.post("/api/github/webhooks", content=body, headers=signed_headers(body, event))
    assert 200 <= answer.status_code < 300, answer.text
    assert answer.json()["outcome"] in ("processed", "ignored")
    assert count_deliveries(_state(client).database) == 1
    assert count_jobs(_state(client).database) == 0


def test_installation_registry(client: TestClient) -> None:
    created = json.loads((SAMPLES / "installation.created.1.json").read_text())
    assert post_event(client, "installation", created).status_code == 202
    iid = created["installation"]["id"]
    names = {r["full_name"] for r in created["repositories"]}
    with _state(client).database.sessions() as db:
        assert db.get(Installation, iid) is not None
        rows = db.scalars(select(Repository).where(Repository.installation_id == iid)).all()
        assert {r.full_name for r in rows} == names and all(r.active for r in rows)
    deleted = copy.deepcopy(created)
    deleted["action"] = "deleted"
    assert post_event(client, "installation", deleted).status_code == 202
    with _state(client).database.sessions() as db:
        installation = db.get(Installation, iid)
        assert installation is not None and not installation.active
        rows = db.scalars(select(Repository).where(Repository.installation_id == iid)).all()
        assert rows and not any(r.active for r in rows)


def test_issue_events_are_mirrored(client: TestClient) -> None:
    opened = json.loads((SAMPLES / "issues.opened.1.json").read_text())
    assert post_event(client, "issues", opened).status_code == 202
    edited = copy.deepcopy(opened)
    edited["action"] = "edited"
    edited["issue"]["title"] = "A better title"
    edited["issue"]["updated_at"] = "2100-01-01T00:00:00Z"
    assert post_event(client, "issues", edited).status_code == 202
    late = copy.deepcopy(opened)  # an older copy arriving late does not win
    late["issue"]["title"] = "stale"
    assert post_event(client, "issues", late).status_code == 202
    repo = opened["repository"]["full_name"]
    features = client.get(f"/api/repos/{repo}/features").json()["features"]
    assert [(f["number"], f["title"], f["agent_status"]) for f in features] == [
        (opened["issue"]["number"], "A better title", "pending")
    ]


def test_unknown_event_and_action_are_acknowledged(client: TestClient) -> None:
    assert post_event(client, "ping", {"zen": "Keep it logically awesome."}).status_code == 202
    weird = {"action": "transmogrified", "issue": {"number": 1}}
    answer = post_event(client, "issues", weird)
    assert answer.status_code == 202 and answer.json()["outcome"] == "ignored"
    assert post_event(client, "star", {"action": "created"}).json()["outcome"] == "ignored"


def test_too_large_is_413_and_nothing_stored(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, webhook_max_bytes=64 * 1024)
    with TestClient(create_app(settings, run_workers=False)) as client:
        body = json.dumps({"action": "opened", "pad": "x" * 70_000}).encode()
        answer = client.post(
            "/api/github/webhooks", content=body, headers=signed_headers(body, "issues")
        )
        assert answer.status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: stopped while reading
            for _ in range(100):
                yield b"x" * 1024

        headers = signed_headers(b"", "issues")
        streamed = client.post("/api/github/webhooks", content=chunks(), headers=headers)
        assert streamed.status_code == 413
        assert count_deliveries(_state(client).database) == 0


def test_default_limit_is_25_mb(tmp_path: Path) -> None:
    assert make_settings(tmp_path).webhook_max_bytes == 25 * 1024 * 1024


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b"", "caf\u00e9".encode("latin-1"), b'"text"']
)
def test_malformed_json_is_400_and_nothing_stored(client: TestClient, body: bytes) -> None:
    answer = client.post("/api/github/webhooks", content=body, headers=signed_headers(body, "x"))
    assert answer.status_code == 400
    assert count_deliveries(_state(client).database) == 0


def test_missing_headers(client: TestClient) -> None:
    body = b"{}"
    headers = signed_headers(body, "issues")
    del headers["X-GitHub-Delivery"]
    assert client.post("/api/github/webhooks", content=body, headers=headers).status_code == 400
    headers = signed_headers(body, "issues")
    del headers["X-Hub-Signature-256"]
    assert client.post("/api/github/webhooks", content=body, headers=headers).status_code == 401
    assert count_deliveries(_state(client).database) == 0


def test_form_encoded_payload(client: TestClient) -> None:
    import urllib.parse

    body = urllib.parse.urlencode({"payload": json.dumps({"zen": "hi"})}).encode()
    headers = signed_headers(body, "ping")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert client.post("/api/github/webhooks", content=body, headers=headers).status_code == 202


def test_duplicate_delivery_is_acknowledged_once(client: TestClient) -> None:
    payload = json.loads((SAMPLES / "issues.opened.1.json").read_text())
    first = post_event(client, "issues", payload, delivery="dup-1")
    again = post_event(client, "issues", payload, delivery="dup-1")
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    with _state(client).database.sessions() as db:
        delivery = db.scalar(select(Delivery).where(Delivery.delivery_id == "dup-1"))
        assert delivery is not None and delivery.attempts == 1
        assert delivery.status == "processed"


def test_a_trigger_without_app_credentials_fails_visibly(client: TestClient) -> None:
    payload: dict[str, Any] = json.loads((SAMPLES / "issues.labeled.1.json").read_text())
    payload["label"]["name"] = "autocoder"
    answer = post_event(client, "issues", payload, delivery="no-creds")
    assert answer.status_code == 500
    assert "not configured" in answer.json()["error"]
    with _state(client).database.sessions() as db:
        delivery = db.scalar(select(Delivery).where(Delivery.delivery_id == "no-creds"))
        assert delivery is not None and delivery.status == "failed"
        assert db.scalars(select(Feature)).all() == []
    assert count_jobs(_state(client).database) == 0


def test_metrics(client: TestClient) -> None:
    payload = json.loads((SAMPLES / "issues.opened.1.json").read_text())
    post_event(client, "issues", payload)
    post_event(client, "issues", payload, secret="wrong")
    text = client.get("/metrics").text
    assert 'autocoder_webhook_deliveries_total{event="issues",outcome="processed"} 1.0' in text
    assert 'autocoder_webhook_deliveries_total{event="issues",outcome="bad_signature"} 1.0' in text
    assert 'autocoder_jobs{state="queued"} 0.0' in text
    assert "autocoder_session_duration_seconds_count 0.0" in text
    assert "autocoder_github_rate_limit_remaining" in text


def test_secret_is_the_settings_secret() -> None:
    assert SECRET == "It's a Secret to Everybody"
