"""Two App replicas on one database (SQLite file, then PostgreSQL): the same delivery sent to
both at once — as a webhook sender retrying on another replica does — is recorded once; one
replica answers it (202), the other says duplicate (200), never a 5xx; the mirror holds the
issue once."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import httpx
from sqlalchemy import func, select

from app.db.engine import open_database
from app.db.models import Delivery, Feature
from tests.app.webhook_harness import make_settings, running_app, signed_headers

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "webhooks"
TWINS = 12


def test_a_delivery_sent_to_two_replicas_at_once_is_recorded_once(
    tmp_path: Path, database_url: str
) -> None:
    open_database(database_url).dispose()  # migrated once, before either replica starts
    sample = json.loads((SAMPLES / "issues.opened.1.json").read_text())
    settings = make_settings(tmp_path, database_url=database_url)
    with running_app(settings) as (first, _), running_app(settings) as (second, _):
        answers: list[tuple[int, str]] = []
        lock = threading.Lock()

        def send(url: str, body: bytes, headers: dict[str, str], barrier: threading.Barrier):
            barrier.wait()
            response = httpx.post(f"{url}/api/github/webhooks", content=body, headers=headers)
            with lock:
                answers.append((response.status_code, response.json().get("outcome", "")))

        for n in range(TWINS):
            payload = copy.deepcopy(sample)
            payload["issue"]["number"] = 100 + n
            body = json.dumps(payload).encode()
            headers = signed_headers(body, "issues", delivery=f"twin-{n}")
            barrier = threading.Barrier(2)
            threads = [
                threading.Thread(target=send, args=(url, body, headers, barrier))
                for url in (first, second)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)

    codes = sorted(code for code, _ in answers)
    assert codes == [200] * TWINS + [202] * TWINS, answers
    assert [outcome for code, outcome in answers if code == 200] == ["duplicate"] * TWINS
    database = open_database(database_url, run_migrations=False)
    with database.sessions() as db:
        rows = db.execute(select(Delivery.delivery_id, Delivery.attempts)).all()
        features = db.scalar(select(func.count()).select_from(Feature))
    database.dispose()
    assert sorted(rows) == sorted((f"twin-{n}", 1) for n in range(TWINS))
    assert features == TWINS
