"""Helpers for the App's tests: settings in a temp dir, a real uvicorn server on loopback, and
signed deliveries."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select

from app.db.engine import Database
from app.db.models import Delivery
from app.main import create_app
from app.queue.models import Job
from app.settings import AppSettings
from app.webhooks.signature import sign
from tests.world import World

SECRET = "It's a Secret to Everybody"


def make_settings(tmp_path: Path, world: World | None = None, **overrides: Any) -> AppSettings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'db' / 'autocoder.db'}",
        "webhook_secret": SECRET,
        "reconcile_interval": 0,
    }
    if world is not None:
        values.update(
            github_app_id=world.app.id,
            github_private_key=world.app.private_key,
            github_api_url=world.emulator.api_url,
            webhook_secret=world.app.webhook_secret,
        )
    values.update(overrides)
    return AppSettings(_env_file=None, **values)  # type: ignore[call-arg]


def signed_headers(
    body: bytes, event: str, secret: str = SECRET, delivery: str | None = None
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, secret),
    }


def post_event(
    client: Any,
    event: str,
    payload: Any,
    *,
    secret: str = SECRET,
    delivery: str | None = None,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = signed_headers(body, event, secret, delivery)
    response: httpx.Response = client.post("/api/github/webhooks", content=body, headers=headers)
    return response


def count_jobs(database: Database) -> int:
    with database.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(Job)) or 0)


def count_deliveries(database: Database) -> int:
    with database.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(Delivery)) or 0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_app(settings: AppSettings, *, run_workers: bool = False) -> Iterator[tuple[str, Any]]:
    """`create_app(settings)` under uvicorn on 127.0.0.1 (thread); yields (base URL, app)."""
    app = create_app(settings, run_workers=run_workers, run_reconcile=False)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(10)


def wait_for(predicate: Any, timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
