"""The outgoing `test_progress` webhook (app/sequence/notify.py): its payload, its signature (the
algorithm GitHub signs webhooks with, checked on GitHub's own vector), the retry schedule as pure
functions, and deliveries over real HTTP on loopback to a receiver that answers as told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from app.sequence.notify import (
    SIGNATURE_HEADER,
    Notifier,
    backoff_schedule,
    progress_payload,
    retryable,
    signature,
)
from tests.app.webhook_harness import free_port


def test_signature_matches_githubs_vector() -> None:
    expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature("It's a Secret to Everybody", b"Hello, World!") == f"sha256={expected}"


def test_backoff_doubles_with_one_pause_fewer_than_tries() -> None:
    assert backoff_schedule(5, 1.0) == [1.0, 2.0, 4.0, 8.0]
    assert backoff_schedule(3, 0.5) == [0.5, 1.0]
    assert backoff_schedule(1, 1.0) == []
    assert backoff_schedule(0, 1.0) == []


@pytest.mark.parametrize(
    ("status", "again"),
    [(500, True), (502, True), (503, True), (429, True), (400, False), (401, False), (404, False)],
)
def test_what_is_tried_again(status: int, again: bool) -> None:
    assert retryable(status) is again


def test_payload_is_the_seeds_test_progress() -> None:
    now = datetime(2025, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert progress_payload(2, 3, "octo/shop", now) == {
        "event": "test_progress",
        "passing": 2,
        "total": 3,
        "percentage": 66.7,
        "project": "octo/shop",
        "timestamp": "2025-05-01T12:00:00+00:00",
    }
    assert progress_payload(0, 0, "octo/shop", now)["percentage"] == 0.0


class Receiver:
    """Answers each POST with the next status of `statuses` (then 200), holding each answer
    until `gate` is set; records (body, signature header)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[bytes, str | None]] = []
        self.gate = threading.Event()
        self.gate.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((body, self.headers.get(SIGNATURE_HEADER)))
                receiver.gate.wait(10)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@contextmanager
def receiving(statuses: list[int]) -> Iterator[Receiver]:
    receiver = Receiver(statuses)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.gate.set()
        receiver.server.shutdown()
        receiver.server.server_close()


PAYLOAD = progress_payload(1, 3, "octo/shop", datetime(2025, 5, 1, tzinfo=UTC))


def test_a_5xx_is_retried_with_backoff_and_every_try_is_signed() -> None:
    pauses: list[float] = []
    with receiving([500, 503]) as receiver, httpx.Client() as client:
        notifier = Notifier(receiver.url, "s3cret", attempts=5, backoff_s=1.0, sleep=pauses.append)
        assert notifier.deliver(client, PAYLOAD)
    assert pauses == [1.0, 2.0]
    assert len(receiver.received) == 3
    assert len({body for body, _ in receiver.received}) == 1  # the same delivery each time
    body, signed = receiver.received[-1]
    assert json.loads(body) == PAYLOAD
    assert signed == signature("s3cret", body)


def test_a_4xx_is_final_and_no_secret_means_no_signature() -> None:
    pauses: list[float] = []
    with receiving([404]) as receiver, httpx.Client() as client:
        notifier = Notifier(receiver.url, None, attempts=5, sleep=pauses.append)
        assert not notifier.deliver(client, PAYLOAD)
    assert pauses == []
    assert [signed for _, signed in receiver.received] == [None]


def test_a_refused_connection_is_tried_attempts_times_then_given_up() -> None:
    pauses: list[float] = []
    url = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens
    with httpx.Client() as client:
        notifier = Notifier(url, "s3cret", attempts=3, backoff_s=0.5, sleep=pauses.append)
        assert not notifier.deliver(client, PAYLOAD)
    assert pauses == [0.5, 1.0]


def test_send_never_waits_on_the_receiver() -> None:
    with receiving([]) as receiver:
        receiver.gate.clear()  # the receiver holds its answer
        notifier = Notifier(receiver.url, "s3cret", timeout_s=10)
        started = time.monotonic()
        notifier.send(PAYLOAD)
        notifier.send(PAYLOAD)
        assert time.monotonic() - started < 0.5
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.02)
        assert notifier.delivered == 0  # still held
        receiver.gate.set()
        notifier.close()
    assert (notifier.delivered, notifier.given_up) == (2, 0)
