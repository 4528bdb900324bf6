"""Webhook delivery as GitHub does it: signed POSTs, sent in order from a background thread.

Every delivery is recorded in a log (status code, duration, error) and can be redelivered with
the same `X-GitHub-Delivery` and body. Delivery to a URL can be paused, and the next deliveries
can be dropped (recorded but never sent) to simulate a lost webhook.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)

HOOKSHOT_VERSION = "a1b2c3d"
DELIVERY_TIMEOUT_SECONDS = 10.0


def sign(secret: str, body: bytes) -> tuple[str, str]:
    """(X-Hub-Signature, X-Hub-Signature-256) for `body`."""
    sha1 = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    sha256 = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha1={sha1}", f"sha256={sha256}"


@dataclass
class Delivery:
    """One attempt to deliver one event to one URL (a redelivery is a new record, same guid)."""

    id: int
    guid: str
    event: str
    action: str | None
    url: str
    app_id: int
    installation_id: int | None
    repository: str | None
    request_headers: dict[str, str]
    body: bytes
    redelivery: bool = False
    status: str = "pending"  # pending | paused | delivered | failed | dropped
    status_code: int | None = None
    duration: float | None = None
    error: str | None = None
    delivered_at: float | None = None
    response_body: str | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "guid": self.guid,
            "event": self.event,
            "action": self.action,
            "url": self.url,
            "app_id": self.app_id,
            "installation_id": self.installation_id,
            "repository": self.repository,
            "redelivery": self.redelivery,
            "status": self.status,
            "status_code": self.status_code,
            "duration": self.duration,
            "error": self.error,
            "delivered_at": self.delivered_at,
            "request_headers": dict(self.request_headers),
            "payload": self.payload,
            "response_body": self.response_body,
        }


class Deliverer:
    """Queues deliveries and sends them, one at a time and in order, from one thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._lock = threading.Condition()
        self._log: list[Delivery] = []
        self._held: list[Delivery] = []
        self._paused: set[str] = set()
        self._drop: dict[str | None, int] = {}
        self._outstanding = 0
        self._ids = 1
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        no_delay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        self._client = httpx.Client(
            timeout=DELIVERY_TIMEOUT_SECONDS,
            trust_env=False,
            transport=httpx.HTTPTransport(socket_options=no_delay),
        )
        self._thread = threading.Thread(target=self._run, name="webhook-deliverer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout=DELIVERY_TIMEOUT_SECONDS + 2)
        self._thread = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
            self._held.clear()
            self._paused.clear()
            self._drop.clear()

    # -- sending --------------------------------------------------------------------------------

    def enqueue(
        self,
        *,
        event: str,
        payload: dict[str, Any],
        url: str,
        secret: str,
        hook_id: int,
        app_id: int,
        installation_id: int | None,
    ) -> Delivery:
        body = json.dumps(payload, separators=(",", ":")).encode()
        guid = str(uuid.uuid4())
        sha1, sha256 = sign(secret, body)
        headers = {
            "Accept": "*/*",
            "Content-Type": "application/json",
            "User-Agent": f"GitHub-Hookshot/{HOOKSHOT_VERSION}",
            "X-GitHub-Delivery": guid,
            "X-GitHub-Event": event,
            "X-GitHub-Hook-ID": str(hook_id),
            "X-GitHub-Hook-Installation-Target-ID": str(app_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-Hub-Signature": sha1,
            "X-Hub-Signature-256": sha256,
        }
        repository = payload.get("repository")
        delivery = self._new(
            guid=guid,
            event=event,
            action=payload.get("action"),
            url=url,
            app_id=app_id,
            installation_id=installation_id,
            repository=repository.get("full_name") if isinstance(repository, dict) else None,
            request_headers=headers,
            body=body,
        )
        self._submit(delivery)
        return delivery

    def redeliver(self, delivery_id: int) -> Delivery:
        original = self.get(delivery_id)
        if original is None:
            raise KeyError(delivery_id)
        delivery = self._new(
            guid=original.guid,
            event=original.event,
            action=original.action,
            url=original.url,
            app_id=original.app_id,
            installation_id=original.installation_id,
            repository=original.repository,
            request_headers=dict(original.request_headers),
            body=original.body,
            redelivery=True,
        )
        self._submit(delivery, droppable=False)
        return delivery

    def _new(self, **fields: Any) -> Delivery:
        with self._lock:
            delivery = Delivery(id=self._ids, **fields)
            self._ids += 1
            self._log.append(delivery)
            return delivery

    def _submit(self, delivery: Delivery, *, droppable: bool = True) -> None:
        with self._lock:
            if droppable and self._take_drop(delivery.url):
                delivery.status = "dropped"
                delivery.error = "dropped by the emulator (simulated lost webhook)"
                delivery.done.set()
                return
            self._outstanding += 1
            if delivery.url in self._paused:
                delivery.status = "paused"
                self._held.append(delivery)
                return
        self._queue.put(delivery)

    def _take_drop(self, url: str) -> bool:
        for key in (url, None):
            if self._drop.get(key, 0) > 0:
                self._drop[key] -= 1
                return True
        return False

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            self._send(delivery)
            with self._lock:
                self._outstanding -= 1
                self._lock.notify_all()
            delivery.done.set()

    def _send(self, delivery: Delivery) -> None:
        assert self._client is not None
        started = time.monotonic()
        delivery.status = "pending"
        try:
            response = self._client.post(
                delivery.url, content=delivery.body, headers=delivery.request_headers
            )
            delivery.status_code = response.status_code
            delivery.response_body = response.text[:2000]
            delivery.status = "delivered" if response.is_success else "failed"
            if not response.is_success:
                delivery.error = f"Invalid HTTP Response: {response.status_code}"
        except httpx.HTTPError as exc:
            delivery.status = "failed"
            delivery.error = f"{type(exc).__name__}: {exc}"
            log.info("webhook delivery %s to %s failed: %s", delivery.guid, delivery.url, exc)
        delivery.duration = round(time.monotonic() - started, 4)
        delivery.delivered_at = time.time()

    # -- control --------------------------------------------------------------------------------

    def pause(self, url: str) -> None:
        with self._lock:
            self._paused.add(url)

    def resume(self, url: str) -> None:
        with self._lock:
            self._paused.discard(url)
            release = [d for d in self._held if d.url == url]
            self._held = [d for d in self._held if d.url != url]
        for delivery in release:
            delivery.status = "pending"
            self._queue.put(delivery)

    def drop_next(self, count: int = 1, url: str | None = None) -> None:
        with self._lock:
            self._drop[url] = self._drop.get(url, 0) + count

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every delivery that is not paused has been attempted."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._outstanding - len(self._held) > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def get(self, delivery_id: int) -> Delivery | None:
        with self._lock:
            return next((d for d in self._log if d.id == delivery_id), None)

    def log(self) -> list[Delivery]:
        with self._lock:
            return list(self._log)

    def pending(self) -> int:
        with self._lock:
            return self._outstanding


def new_webhook_secret() -> str:
    return secrets.token_hex(20)
