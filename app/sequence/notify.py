"""The outgoing progress webhook (`AUTOCODER_NOTIFY_URL`, the seed's N8N notification): a
`test_progress` POST whenever a spec's passing count rises.

`progress_payload` and `signature` are pure. `Notifier` sends from its own thread, so nothing
waits on the receiver: each delivery is tried again with growing pauses after a refused
connection, a 5xx or a 429 (up to `attempts` times); a 4xx is final. With a secret, the body is
signed as GitHub signs webhooks: `X-Autocoder-Signature-256: sha256=<HMAC-SHA256(secret, body)>`.
The URL and secret never appear in the log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Autocoder-Signature-256"


def progress_payload(passing: int, total: int, project: str, now: datetime) -> dict[str, Any]:
    percentage = round(100.0 * passing / total, 1) if total else 0.0
    return {
        "event": "test_progress",
        "passing": passing,
        "total": total,
        "percentage": percentage,
        "project": project,
        "timestamp": now.astimezone(UTC).isoformat(),
    }


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retryable(status: int) -> bool:
    """Whether an answer with this status is worth another try (the receiver's trouble, or
    too many requests); any other 4xx is final."""
    return status >= 500 or status == 429


def backoff_schedule(attempts: int, backoff_s: float) -> list[float]:
    """The pauses between `attempts` tries: `backoff_s`, doubling each time (one fewer pause
    than tries)."""
    return [backoff_s * 2**n for n in range(max(attempts, 1) - 1)]


class Notifier:
    """Sends payloads to one URL from a daemon thread (started on the first `send`)."""

    def __init__(
        self,
        url: str,
        secret: str | None = None,
        *,
        attempts: int = 5,
        backoff_s: float = 1.0,
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = url
        self._secret = secret
        self._attempts = max(attempts, 1)
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.delivered = 0
        self.given_up = 0

    def send(self, payload: dict[str, Any]) -> None:
        """Queue one delivery; returns at once."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
                self._thread.start()
        self._queue.put(payload)

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout_s) as client:
            while True:
                payload = self._queue.get()
                if payload is None:
                    return
                if self.deliver(client, payload):
                    self.delivered += 1
                else:
                    self.given_up += 1

    def deliver(self, client: httpx.Client, payload: dict[str, Any]) -> bool:
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "autocoder"}
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        pauses = backoff_schedule(self._attempts, self._backoff_s)
        for attempt in range(1, self._attempts + 1):
            try:
                status = client.post(self._url, content=body, headers=headers).status_code
            except httpx.HTTPError as error:
                problem = type(error).__name__
            else:
                if status < 300:
                    return True
                if not retryable(status):
                    log.warning("progress notification refused (HTTP %s); not retried", status)
                    return False
                problem = f"HTTP {status}"
            if attempt < self._attempts:
                delay = pauses[attempt - 1]
                log.info("progress notification failed (%s); again in %.1fs", problem, delay)
                self._sleep(delay)
        log.warning("progress notification given up after %s attempts", self._attempts)
        return False
