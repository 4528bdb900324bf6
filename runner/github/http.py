"""`GitHubHTTP`: the one place autocoder's GitHub REST requests go out.

Every request — the runner's, the App's, token minting, the reconcile's conditional listings —
is sent here, so that one policy (`RetryPolicy`), one error type (`GitHubError`), one spacing of
mutating requests and one request hook (metrics, the per-session request count) hold for all
of them. Built on httpx: PyGithub has no public way to send a request it lacks a method for, to
send `If-None-Match` and hand back a 304, or to observe each exchange.

Tokens travel in the `Authorization` header only (asked of `authorization` before each attempt,
so a refreshed token is used); they never appear in a URL, a log line or an error message.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from runner.github.errors import GitHubError
from runner.github.retry import Failure, RetryPolicy
from runner.github.translate import (
    error_for_broken,
    error_for_response,
    error_for_unreachable,
    is_rate_limited,
)
from runner.github.types import RequestRecord

RequestHook = Callable[[RequestRecord], None]
Authorization = Callable[[], str]  # the Authorization header's value, e.g. "token ghs_…"

ACCEPT = "application/vnd.github+json"
API_VERSION = "2022-11-28"
MUTATING = frozenset({"POST", "PATCH", "PUT", "DELETE"})
MAX_PAGES = 50

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Response:
    """GitHub's answer: status, parsed JSON body (None when empty or not JSON), headers."""

    status: int
    data: Any
    headers: Mapping[str, str]
    next_url: str | None = None

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def _remaining(headers: Mapping[str, str]) -> int | None:
    value = headers.get("x-ratelimit-remaining")
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


class GitHubHTTP:
    """REST over one httpx client. Thread-safe. `requests_sent` counts every HTTP exchange
    (retries included) since the client was made."""

    def __init__(
        self,
        base_url: str,
        *,
        authorization: Authorization | None = None,
        secrets: Callable[[], Iterable[str]] = tuple,
        retry: RetryPolicy | None = None,
        request_hook: RequestHook | None = None,
        seconds_between_writes: float = 0.0,
        write_burst: int = 0,
        timeout: float = 30.0,
        user_agent: str = "autocoder",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if seconds_between_writes < 0:
            raise ValueError("seconds_between_writes must be >= 0")
        self.base_url = base_url.rstrip("/")
        self._origin = urllib.parse.urlsplit(self.base_url)[:2]
        self._authorization = authorization
        self._secrets = secrets
        self.retry = retry or RetryPolicy()
        self._hooks: list[RequestHook] = [request_hook] if request_hook is not None else []
        self._between_writes = seconds_between_writes
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last_write: float | None = None
        self._write_burst = write_burst
        self._write_credit = float(write_burst)  # writes that may go now without waiting
        self.requests_sent = 0
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            headers={
                "Accept": ACCEPT,
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": user_agent,
            },
            follow_redirects=False,
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"GitHubHTTP(base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def add_hook(self, hook: RequestHook) -> None:
        self._hooks.append(hook)

    def secrets(self) -> tuple[str, ...]:
        return tuple(self._secrets())

    def url(self, path: str) -> str:
        return path if "://" in path else f"{self.base_url}{path}"

    # -- one request --------------------------------------------------------------------------

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        etag: str | None = None,
        authorization: str | None = None,
    ) -> Response:
        """Send `method path` (retrying per the policy) and return GitHub's answer, a 2xx or a
        304 (only with `etag`); anything else raises a `GitHubError` that says `operation`."""
        method = method.upper()
        url = self.url(path)
        if urllib.parse.urlsplit(url)[:2] != self._origin:
            raise GitHubError(f"{operation}: GitHub pointed at another host; not following")
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            headers = {"If-None-Match": etag} if etag else {}
            header = authorization or (self._authorization() if self._authorization else None)
            if header:
                headers["Authorization"] = header
            self._space_write(method)
            try:
                answer = self._http.request(method, url, json=json, params=params, headers=headers)
            except httpx.ConnectError as exc:
                raise error_for_unreachable(operation, url, exc, self.secrets()) from None
            except httpx.HTTPError as exc:
                wait = self.retry.wait_before_retry(
                    method, url, Failure.BROKEN, attempt=attempt, waited=waited
                )
                if wait is None:
                    raise error_for_broken(operation, exc, self.secrets()) from None
                self._pause(operation, attempt, type(exc).__name__, wait)
                waited += wait
                continue
            data = _json(answer)
            self._report(method, url, answer)
            status = answer.status_code
            if status < 300 or (status == 304 and etag):
                next_url = answer.links.get("next", {}).get("url")
                return Response(status, data, answer.headers, next_url)
            failure = None
            if is_rate_limited(status, data, answer.headers):
                failure = Failure.RATE_LIMIT
            elif status >= 500:
                failure = Failure.SERVER
            wait = (
                None
                if failure is None
                else self.retry.wait_before_retry(
                    method, url, failure, attempt=attempt, waited=waited, headers=answer.headers
                )
            )
            if wait is None:
                raise error_for_response(operation, status, data, answer.headers, self.secrets())
            self._pause(operation, attempt, str(status), wait)
            waited += wait

    def get(self, operation: str, path: str, **kwargs: Any) -> Any:
        return self.request(operation, "GET", path, **kwargs).data

    def paginate(
        self, operation: str, path: str, params: Mapping[str, str] | None = None, *, key: str = ""
    ) -> list[Any]:
        """Every item of a listing, following `Link: rel=next` (at most `MAX_PAGES` pages).
        `key`: the listing is the answer's `key` field (e.g. `check_runs`)."""
        items: list[Any] = []
        url: str | None = path
        query: Mapping[str, str] | None = {"per_page": "100", **(params or {})}
        for _ in range(MAX_PAGES):
            assert url is not None
            answer = self.request(operation, "GET", url, params=query)
            page = answer.data.get(key) if key and isinstance(answer.data, dict) else answer.data
            if isinstance(page, list):
                items.extend(page)
            url, query = answer.next_url, None
            if not url:
                return items
        _log.warning("%s: stopped after %d pages", operation, MAX_PAGES)
        return items

    # -- plumbing -----------------------------------------------------------------------------

    def _space_write(self, method: str) -> None:
        """At least `seconds_between_writes` between mutating requests (GitHub's advice
        against secondary limits), after a first burst of `write_burst` writes that go at once;
        the burst is earned back at the same pace (a token bucket)."""
        if method not in MUTATING or not self._between_writes:
            return
        with self._lock:
            now = time.monotonic()
            if self._last_write is not None:
                earned = (now - self._last_write) / self._between_writes - 1
                credit = min(self._write_credit + max(earned, 0.0), float(self._write_burst))
                if credit >= 1:
                    self._write_credit = credit - 1
                else:
                    self._write_credit = 0.0
                    due = self._last_write + self._between_writes
                    if now < due:
                        self._sleep(due - now)
            self._last_write = time.monotonic()

    def _pause(self, operation: str, attempt: int, why: str, wait: float) -> None:
        _log.info("%s: attempt %d answered %s; retrying in %.1f s", operation, attempt, why, wait)
        self._sleep(wait)

    def _report(self, method: str, url: str, answer: httpx.Response) -> None:
        with self._lock:
            self.requests_sent += 1
        path = urllib.parse.urlsplit(url).path
        record = RequestRecord(method, path, answer.status_code, _remaining(answer.headers))
        for hook in self._hooks:
            try:
                hook(record)
            except Exception:  # a metrics hook must never break a GitHub call
                _log.exception("GitHub request hook failed")
