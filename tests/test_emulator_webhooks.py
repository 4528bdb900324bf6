"""Webhooks from the emulator: signed like GitHub's, shaped like GitHub's examples, delivered
in order, logged, redeliverable with the same delivery id, pausable and droppable."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.emulator import AppInfo, Emulator, WebhookReceiver

SAMPLES = Path(__file__).parent / "samples" / "webhooks"

try:
    from tests.openapi.validator import OpenAPIValidator
except ImportError:  # the validator is vendored by a sibling part of the test bench
    OpenAPIValidator = None  # type: ignore[assignment,misc]


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return data


def verify(secret: str, body: bytes, signature: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@pytest.fixture
def world(github_emulator: Emulator, webhook_sink: WebhookReceiver) -> tuple[Emulator, AppInfo]:
    gh = github_emulator
    app = gh.register_app("autocoder", webhook_sink.url)
    gh.create_repo("octo/hello", {"README.md": "hi\n"})
    gh.install(app.id, "octo/hello")
    gh.add_user("alice", "triage", "octo/hello")
    return gh, app


def test_github_signature_vector() -> None:
    from tests.emulator.webhooks import sign

    _, sha256 = sign("It's a Secret to Everybody", b"Hello, World!")
    assert sha256 == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_labelling_delivers_a_signed_issues_labeled_webhook(
    world: tuple[Emulator, AppInfo], webhook_sink: WebhookReceiver
) -> None:
    gh, app = world
    gh.act_as("alice").open_issue("octo/hello", "Fix the bug", "It is broken.")
    gh.act_as("alice").label_issue("octo/hello", 1, "autocoder")
    gh.wait_for_deliveries()
    labeled = [r for r in webhook_sink.received if r.payload.get("action") == "labeled"]
    assert len(labeled) == 1
    delivery = labeled[0]

    headers = delivery.headers
    assert verify(app.webhook_secret, delivery.body, headers["x-hub-signature-256"])
    sha1 = hmac.new(app.webhook_secret.encode(), delivery.body, hashlib.sha1).hexdigest()
    assert headers["x-hub-signature"] == f"sha1={sha1}"
    assert headers["x-github-event"] == "issues"
    uuid.UUID(headers["x-github-delivery"])
    assert headers["x-github-hook-id"] == str(app.hook_id)
    assert headers["x-github-hook-installation-target-type"] == "integration"
    assert headers["x-github-hook-installation-target-id"] == str(app.id)
    assert headers["user-agent"].startswith("GitHub-Hookshot/")
    assert headers["content-type"] == "application/json"

    payload = delivery.payload
    example = sample("issues.labeled.1.json")
    assert set(example) - set(payload) == set()
    for part in ("issue", "label", "sender"):
        assert set(example[part]) - set(payload[part]) == set(), part
    assert set(example["repository"]) - set(payload["repository"]) == set()
    assert payload["installation"]["id"] == gh.deliveries()[-1].installation_id
    assert set(payload["installation"]) >= {"id", "node_id"}
    assert payload["label"]["name"] == "autocoder"
    assert [label["name"] for label in payload["issue"]["labels"]] == ["autocoder"]
    assert payload["sender"]["login"] == "alice"
    assert payload["sender"]["type"] == "User"
    assert payload["repository"]["full_name"] == "octo/hello"
    if OpenAPIValidator is not None:
        assert OpenAPIValidator.load().check_webhook("issues", payload) == []


def test_events_by_the_app_have_the_bot_as_sender_and_arrive_in_order(
    world: tuple[Emulator, AppInfo], webhook_sink: WebhookReceiver
) -> None:
    gh, app = world
    gh.act_as("alice").open_issue("octo/hello", "Fix the bug", labels=["autocoder"])
    token = gh.installation_token(app, gh.deliveries()[0].installation_id or 0)
    api = httpx.Client(base_url=gh.base_url, headers={"Authorization": f"token {token}"})
    assert (
        api.post("/repos/octo/hello/issues/1/comments", json={"body": "On it"}).status_code == 201
    )
    assert api.delete("/repos/octo/hello/issues/1/labels/autocoder").status_code == 200
    gh.wait_for_deliveries()
    assert webhook_sink.events() == [
        ("issues", "opened"),
        ("issues", "labeled"),
        ("issue_comment", "created"),
        ("issues", "unlabeled"),
    ]
    comment = webhook_sink.received[2].payload
    assert comment["sender"]["login"] == f"{app.slug}[bot]"
    assert comment["sender"]["type"] == "Bot"
    assert comment["comment"]["performed_via_github_app"]["id"] == app.id
    assert all(d.status_code == 202 and d.error is None for d in gh.deliveries())


def test_redelivery_keeps_the_delivery_id_and_body(
    world: tuple[Emulator, AppInfo], webhook_sink: WebhookReceiver
) -> None:
    gh, _ = world
    gh.act_as("alice").open_issue("octo/hello", "Fix the bug")
    gh.wait_for_deliveries()
    first = gh.deliveries()[0]
    again = gh.redeliver(first.id)
    gh.wait_for_deliveries()
    assert again.id != first.id and again.redelivery
    one, two = webhook_sink.wait_for(2)
    assert one.headers["x-github-delivery"] == two.headers["x-github-delivery"] == first.guid
    assert one.body == two.body
    assert one.headers["x-hub-signature-256"] == two.headers["x-hub-signature-256"]


def test_failed_deliveries_are_logged(
    github_emulator: Emulator, webhook_sink: WebhookReceiver
) -> None:
    gh = github_emulator
    webhook_sink.status = 500
    app = gh.register_app("autocoder", webhook_sink.url)
    gh.create_repo("octo/hello")
    gh.install(app.id, "octo/hello")
    gh.add_user("alice", "read", "octo/hello")
    gh.act_as("alice").open_issue("octo/hello", "Broken")
    gh.set_webhook_url(app.id, "http://127.0.0.1:9/nothing-listens-here")
    gh.act_as("alice").comment("octo/hello", 1, "hello?")
    gh.wait_for_deliveries()
    failed, refused = gh.deliveries()
    assert (failed.status, failed.status_code) == ("failed", 500)
    assert refused.status == "failed" and refused.status_code is None and refused.error
    assert failed.duration is not None


def test_pause_and_drop_simulate_late_and_lost_webhooks(
    world: tuple[Emulator, AppInfo], webhook_sink: WebhookReceiver
) -> None:
    gh, _ = world
    gh.drop_next_delivery()
    gh.act_as("alice").open_issue("octo/hello", "Lost")
    gh.pause_webhooks(webhook_sink.url)
    gh.act_as("alice").comment("octo/hello", 1, "held back")
    gh.wait_for_deliveries(timeout=2)  # paused deliveries do not count as pending
    assert webhook_sink.received == []
    assert [d.status for d in gh.deliveries()] == ["dropped", "paused"]
    gh.resume_webhooks(webhook_sink.url)
    gh.wait_for_deliveries()
    assert webhook_sink.events() == [("issue_comment", "created")]
    gh.redeliver(gh.deliveries()[0].id)  # the lost one can still be redelivered
    gh.wait_for_deliveries()
    assert webhook_sink.events()[-1] == ("issues", "opened")


def test_check_run_buttons_reach_only_the_creating_app(
    world: tuple[Emulator, AppInfo], webhook_sink: WebhookReceiver
) -> None:
    gh, app = world
    gh.set_permission("octo/hello", "alice", "write")
    installation_id = gh.install(app.id, "octo/hello")
    token = gh.installation_token(app, installation_id)
    api = httpx.Client(base_url=gh.base_url, headers={"Authorization": f"token {token}"})
    head = api.get("/repos/octo/hello/branches/main").json()["commit"]["sha"]
    run = api.post(
        "/repos/octo/hello/check-runs",
        json={
            "name": "autocoder",
            "head_sha": head,
            "status": "in_progress",
            "actions": [
                {"label": "Cancel", "description": "Stop the session", "identifier": "cancel"}
            ],
        },
    ).json()
    gh.act_as("alice").press_check_run_action("octo/hello", run["id"], "cancel")
    gh.act_as("alice").rerequest_check_run("octo/hello", run["id"])
    gh.wait_for_deliveries()
    events = [(r.event, r.payload["action"]) for r in webhook_sink.received]
    assert events == [
        ("check_run", "created"),
        ("check_run", "requested_action"),
        ("check_run", "rerequested"),
    ]
    pressed = webhook_sink.received[1].payload
    assert pressed["requested_action"] == {"identifier": "cancel"}
    assert pressed["check_run"]["check_suite"]["head_sha"] == head
    assert pressed["sender"]["login"] == "alice"
