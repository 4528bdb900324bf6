"""Every delivery answered 2xx is durable: `autocoder serve` (a real process, SQLite, the GitHub
emulator as GitHub) takes 2,000 signed deliveries from 32 concurrent senders, is killed with
SIGKILL in the middle, and restarted; senders retry what went unanswered, as GitHub's redelivery
would. Whatever was acknowledged before the kill is in the database after it — with its job when
it started one — and nothing is there twice; also with two processes answering the port."""

from __future__ import annotations

import copy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.webhooks.signature import sign
from tests.app.webhook_harness import free_port, wait_for
from tests.emulator.client import Emulator
from tests.world import MAINTAINER, REPO, World, make_world

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "webhooks" / "issues.labeled.1.json"
DELIVERIES = 2000
SENDERS = 32
STARTS = 100  # deliveries that start a job (the trigger label by a maintainer, one issue each)
KILL_AFTER = 800  # answered deliveries before the SIGKILL


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return make_world(github_emulator)


@contextmanager
def _server(
    env: dict[str, str], port: int, log: Path, processes: int
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "autocoder", "serve", "--port", str(port),
             "--log-level", "warning", "--processes", str(processes)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"serve exited: {log.read_text()}")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success
            except httpx.HTTPError:
                return False

        try:
            wait_for(healthy, timeout=60, what="autocoder serve to answer /healthz")
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _deliveries(world: World) -> list[tuple[str, bytes, int | None]]:
    """(delivery id, signed body, issue number when it starts a job): label events on REPO,
    every 20th one the trigger label added by a maintainer on an issue of its own."""
    base = json.loads(SAMPLE.read_text())
    base["repository"]["full_name"] = REPO
    base["repository"]["name"] = REPO.split("/")[1]
    base["repository"]["owner"]["login"] = REPO.split("/")[0]
    base["installation"] = {"id": world.installation_id}
    out = []
    for index in range(DELIVERIES):
        payload = copy.deepcopy(base)
        starts = index % (DELIVERIES // STARTS) == 0
        number = 1000 + index if starts else 1 + index % 7
        payload["issue"]["number"] = number
        payload["sender"]["login"] = MAINTAINER if starts else "someone"
        payload["label"]["name"] = "autocoder" if starts else "bug"
        out.append((str(uuid.uuid4()), json.dumps(payload).encode(), number if starts else None))
    return out


class _Senders:
    """32 threads posting deliveries until each is answered 2xx (retrying what fails)."""

    def __init__(self, url: str, secret: str, items: list[tuple[str, bytes, int | None]]) -> None:
        self.url = url
        self.secret = secret
        self.todo = list(items)
        self.lock = threading.Lock()
        self.answered: dict[str, dict[str, Any]] = {}  # delivery id -> 2xx answer
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.deadline = time.monotonic() + 240

    def next(self) -> tuple[str, bytes, int | None] | None:
        with self.lock:
            return self.todo.pop() if self.todo else None

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < self.deadline:
                item = self.next()
                if item is None:
                    return
                delivery_id, body, _ = item
                headers = {
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "issues",
                    "X-GitHub-Delivery": delivery_id,
                    "X-Hub-Signature-256": sign(body, self.secret),
                }
                try:
                    response = client.post(self.url, content=body, headers=headers)
                except httpx.HTTPError:
                    response = None
                with self.lock:
                    if response is not None:
                        self.statuses[response.status_code] = (
                            self.statuses.get(response.status_code, 0) + 1
                        )
                    if response is not None and response.is_success:
                        self.answered[delivery_id] = response.json()
                    else:  # unanswered (the server is down) or refused: send it again
                        self.errors += 1
                        self.todo.insert(0, item)
                if response is None or not response.is_success:
                    time.sleep(0.05)


def _rows(db_path: Path, query: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


@pytest.mark.parametrize("processes", [1, 2])
def test_every_acknowledged_delivery_survives_sigkill(
    world: World, tmp_path: Path, processes: int
) -> None:
    db_path = tmp_path / "serve" / "autocoder.db"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTOCODER_")},
        **world.runner_env(
            tmp_path / "cache",
            AUTOCODER_WEBHOOK_SECRET=world.app.webhook_secret,
            AUTOCODER_DATABASE_URL=f"sqlite:///{db_path}",
            AUTOCODER_RECONCILE_INTERVAL="0",
        ),
        "HOME": str(tmp_path / "home"),
    }
    port = free_port()
    items = _deliveries(world)
    starting = {delivery_id: number for delivery_id, _, number in items if number is not None}
    senders = _Senders(
        f"http://127.0.0.1:{port}/api/github/webhooks", world.app.webhook_secret, items
    )
    log = tmp_path / "serve.log"

    with _server(env, port, log, processes) as first:
        threads = [threading.Thread(target=senders.run) for _ in range(SENDERS)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(senders.answered) >= KILL_AFTER, timeout=120, what="deliveries")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        with senders.lock:
            before_kill = dict(senders.answered)
    assert KILL_AFTER <= len(before_kill) < DELIVERIES

    # Acknowledged before the kill => in the database, as it was answered.
    stored = dict(_rows(db_path, "SELECT delivery_id, status FROM deliveries"))
    missing = [d for d in before_kill if d not in stored]
    assert not missing, f"{len(missing)} acknowledged deliveries lost by the kill"
    jobs = {
        d: (i, n) for i, d, n in _rows(db_path, "SELECT id, delivery_id, issue_number FROM jobs")
    }
    for delivery_id, answer in before_kill.items():
        if delivery_id in starting and answer["outcome"] != "duplicate":
            assert jobs[delivery_id] == (answer["job"], starting[delivery_id])

    with _server(env, port, log, processes):
        for thread in threads:
            thread.join(240)
    assert not senders.todo, f"{len(senders.todo)} deliveries never answered 2xx"
    assert set(senders.answered) == {delivery_id for delivery_id, _, _ in items}
    assert senders.errors > 0  # the kill did interrupt deliveries in flight

    # After the restart: every delivery once, each job once, none for what did not start one.
    rows = _rows(db_path, "SELECT delivery_id, status, attempts FROM deliveries")
    assert len(rows) == DELIVERIES == len({r[0] for r in rows})
    assert {status for _, status, _ in rows} <= {"processed", "ignored"}
    job_rows = _rows(db_path, "SELECT id, delivery_id, issue_number FROM jobs")
    assert sorted(d for _, d, _ in job_rows) == sorted(starting)
    job_of = {d: (i, n) for i, d, n in job_rows}
    for delivery_id, answer in senders.answered.items():
        if answer["outcome"] == "duplicate":
            # only a delivery committed before the kill whose answer the kill cut off
            assert delivery_id in stored and delivery_id not in before_kill
        elif delivery_id in starting:
            assert job_of[delivery_id] == (answer["job"], starting[delivery_id])
        else:
            assert answer["job"] is None
