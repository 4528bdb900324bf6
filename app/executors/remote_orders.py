"""Work orders handed to sessions that run elsewhere (a GitHub Actions run), and the events
they send back: the App's side of `GET /api/work-orders/{id}` and
`POST /api/work-orders/{id}/events` (`app.api.work_orders`).

A `RemoteAttempt` looks to the worker like any launched session (`app.executors.base`): it
writes the work order and control lines on `stdin`, reads event lines from `stdout`. Behind
them, instead of a process:

- the work order waits here until the run fetches it with its **dispatch token** — one-time
  (consumed by the first fetch) and expiring (the start deadline). The fetch answers with an
  **events token**, which the run's reports carry; it dies with the attempt;
- each report's events go into the worker's `stdout` pipe, unchanged; its answer carries the
  control lines (stop, a fresh installation token) the worker wrote since the last report. A
  report with no event is a heartbeat;
- a run that never fetches its order within `start_deadline_s`, or that goes silent for
  `silence_deadline_s`, ends the attempt with a transient `Failure` saying so (the worker then
  records it and concludes the check runs it had opened, as for a local session that died).

Tokens are kept as SHA-256 digests and compared in constant time; none is ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from runner.events import Failure, SessionEvent, event_from_data, event_line, parse_control

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class OrderRefused(Exception):
    """A request the work-order routes refuse; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _matches(token: str | None, digest: bytes | None) -> bool:
    return token is not None and digest is not None and hmac.compare_digest(_digest(token), digest)


@dataclass
class Deadlines:
    start_s: float = 600.0  # dispatch → the run fetches its order
    silence_s: float = 300.0  # the longest a fetched run may go without a report


@dataclass
class RemoteAttempt:
    """One attempt of one job, run elsewhere. `stdin`/`stdout` are the worker's ends."""

    order_id: str
    job_id: int
    attempt: int
    deadlines: Deadlines
    clock: Clock
    dispatch_digest: bytes
    created_at: float
    stdin: IO[bytes] = field(init=False)
    stdout: IO[bytes] = field(init=False)
    order: dict[str, Any] | None = None  # the work order, once the worker wrote it
    transform: Callable[[dict[str, Any]], dict[str, Any]] = lambda order: order
    on_order: Callable[[RemoteAttempt], None] = lambda attempt: None
    fetched_at: float | None = None
    last_seen: float | None = None
    events_digest: bytes | None = None
    exit_code: int | None = None
    controls: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    ended: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        control_r, control_w = os.pipe()
        event_r, event_w = os.pipe()
        self.stdin = os.fdopen(control_w, "wb")
        self.stdout = os.fdopen(event_r, "rb")
        self._control_in = os.fdopen(control_r, "rb")
        self._event_out: IO[bytes] | None = os.fdopen(event_w, "wb")
        threading.Thread(target=self._pump, name=f"order-{self.job_id}", daemon=True).start()

    # -- the worker's side ---------------------------------------------------------------------

    def _pump(self) -> None:
        """Reads what the worker writes: the order first, then control lines."""
        for raw in self._control_in:
            line = raw.strip()
            if not line:
                continue
            if self.order is None:
                try:
                    self.order = self.transform(json.loads(line))
                except ValueError:
                    self.end(Failure(error="the worker wrote no valid work order", transient=False))
                    return
                self.on_order(self)
                continue
            try:
                control = parse_control(line)
            except ValueError:
                continue
            # as JSON data; a fresh token is revealed (its serializer), for the run alone
            self.controls.put(control.model_dump(mode="json"))

    def emit(self, event: SessionEvent) -> None:
        with self.lock:
            if self._event_out is None:
                return
            try:
                self._event_out.write(event_line(event).encode())
                self._event_out.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass

    def end(self, last: SessionEvent | None = None, *, exit_code: int = 0) -> None:
        """The attempt is over: its last event (if any) goes out, the event pipe closes."""
        if last is not None:
            self.emit(last)
        with self.lock:
            if self._event_out is not None:
                self._event_out.close()
                self._event_out = None
            if self.exit_code is None:
                self.exit_code = exit_code
        self.ended.set()

    def check_deadlines(self) -> None:
        """Ends an attempt whose run never started or went silent."""
        if self.ended.is_set():
            return
        now = self.clock()
        if self.fetched_at is None:
            if now - self.created_at > self.deadlines.start_s:
                self.end(
                    Failure(
                        error=f"the Actions run did not start: it fetched no work order within "
                        f"{self.deadlines.start_s:g}s of its dispatch (is the workflow there, "
                        "are Actions enabled, is a runner free?)",
                        transient=True,
                    )
                )
        elif now - (self.last_seen or self.fetched_at) > self.deadlines.silence_s:
            self.end(
                Failure(
                    error=f"the Actions run went silent: no report for "
                    f"{self.deadlines.silence_s:g}s (the run died or was cancelled)",
                    transient=True,
                )
            )

    # -- the run's side --------------------------------------------------------------------------

    def fetch(self, dispatch_token: str | None) -> tuple[dict[str, Any], str]:
        """The work order and a fresh events token; the dispatch token works once."""
        with self.lock:
            if not _matches(dispatch_token, self.dispatch_digest):
                raise OrderRefused(401, "bad or missing token")
            if self.fetched_at is not None:
                raise OrderRefused(410, "this work order was already fetched")
            if self.ended.is_set():
                raise OrderRefused(410, "this attempt is over")
            if self.clock() - self.created_at > self.deadlines.start_s:
                raise OrderRefused(410, "this work order expired")
            if self.order is None:
                raise OrderRefused(409, "the work order is not ready; try again shortly")
            events_token = secrets.token_urlsafe(32)
            self.events_digest = _digest(events_token)
            self.fetched_at = self.last_seen = self.clock()
            return self.order, events_token

    def report(
        self, events_token: str | None, events: list[Any], exit_code: int | None
    ) -> list[dict[str, Any]]:
        """Take the run's events (and its session's exit code, once it has ended); the
        control lines waiting for it."""
        if not _matches(events_token, self.events_digest):
            raise OrderRefused(401, "bad or missing token")
        if self.ended.is_set():
            raise OrderRefused(410, "this attempt is over; stop")
        parsed: list[SessionEvent] = []
        for data in events:
            try:
                parsed.append(event_from_data(data))
            except ValueError as error:
                raise OrderRefused(422, f"not a session event: {type(error).__name__}") from None
        self.last_seen = self.clock()
        for event in parsed:
            self.emit(event)
        if exit_code is not None:
            self.end(exit_code=exit_code)
        controls = []
        while True:
            try:
                controls.append(self.controls.get_nowait())
            except queue.Empty:
                return controls


class RemoteOrders:
    """Every remote attempt this server runs, by work-order id (`app.state.remote_orders`).
    A watchdog thread ends those whose run never started or went silent."""

    def __init__(
        self, deadlines: Deadlines | None = None, *, clock: Clock = time.monotonic
    ) -> None:
        self.deadlines = deadlines or Deadlines()
        self.clock = clock
        self._attempts: dict[str, RemoteAttempt] = {}
        self._lock = threading.Lock()
        self._watchdog: threading.Thread | None = None
        self._stop = threading.Event()

    def open(
        self,
        job_id: int,
        attempt: int,
        *,
        transform: Callable[[dict[str, Any]], dict[str, Any]] = lambda order: order,
        on_order: Callable[[RemoteAttempt], None] = lambda attempt: None,
    ) -> tuple[RemoteAttempt, str]:
        """A new remote attempt and its one-time dispatch token."""
        token = secrets.token_urlsafe(32)
        remote = RemoteAttempt(
            order_id=secrets.token_urlsafe(16),
            job_id=job_id,
            attempt=attempt,
            deadlines=self.deadlines,
            clock=self.clock,
            dispatch_digest=_digest(token),
            created_at=self.clock(),
            transform=transform,
            on_order=on_order,
        )
        with self._lock:
            self._attempts[remote.order_id] = remote
            if self._watchdog is None:
                self._watchdog = threading.Thread(
                    target=self._watch, name="remote-orders", daemon=True
                )
                self._watchdog.start()
        return remote, token

    def get(self, order_id: str) -> RemoteAttempt:
        with self._lock:
            remote = self._attempts.get(order_id)
        if remote is None:
            raise OrderRefused(401, "bad or missing token")  # no oracle for ids
        return remote

    def close(self, order_id: str) -> None:
        with self._lock:
            self._attempts.pop(order_id, None)

    def sweep(self) -> None:
        with self._lock:
            attempts = list(self._attempts.values())
        for remote in attempts:
            remote.check_deadlines()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.sweep()
            except Exception:
                log.exception("checking remote attempts failed")
