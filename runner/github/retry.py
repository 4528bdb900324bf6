"""How the client retries: PyGithub's `GithubRetry`, configured deliberately.

What `GithubRetry` (PyGithub 2.x) does on its own: it is a urllib3 `Retry` that adds 403 to the
retried statuses (default 500-599 + 403) and POST to the retried methods. A 403 with a
`Retry-After` header is retried after that many seconds (urllib3 sleeps); a 403 without it is
retried only when the body's message says rate limit: a primary limit waits until
`X-RateLimit-Reset` (+1 s), a secondary one `secondary_rate_wait` seconds; a wait longer than
`max_rate_limit_wait` raises `RateLimitExceededExceedsMaxWait`. Any other 403 raises at once.

What we add here:
- 429 is retried like a rate-limit 403 (`Retry-After`, else `X-RateLimit-Reset` when the limit is
  exhausted, else `secondary_rate_wait`).
- A `Retry-After` longer than `max_rate_limit_wait` is not slept through: the response is handed
  back, and the client raises `GitHubRateLimitError` with the reset time.
- PATCH, PUT and DELETE are retried on 5xx: every mutation autocoder sends with them sets fields to
  absolute values, so sending it twice leaves the same state.
- POST is retried on rate limits (GitHub refused it before doing anything), but NOT on a 5xx or a
  broken connection, where GitHub may have done the work: a retried "create" could make a second
  pull request, check run or comment. Those are retried one level up, in the client, after a
  lookup proved the first attempt left nothing behind (`GitHubClient._create_once`). POSTs that
  are idempotent on GitHub (reactions, review requests, installation tokens) are retried here.
- A connection that cannot be made (refused: nothing listens there; a host name that does not
  resolve) is not retried: retrying only delays the answer (with a urllib3 warning per attempt)
  for a fault that is almost always a wrong URL, not a passing one.
- Every request's retries are bounded in count and in total sleeping time (`max_total_wait`).
- With `raise_on_status=False`, the last response after the retries are spent goes back to
  PyGithub, which raises a `GithubException` carrying the status (translated by the client).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast

from github.GithubRetry import GithubRetry
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import MaxRetryError, NewConnectionError, ResponseError
from urllib3.response import BaseHTTPResponse, HTTPResponse
from urllib3.util.retry import Retry

# POST endpoints where GitHub itself deduplicates: sending twice has the effect of sending once.
IDEMPOTENT_POST_SUFFIXES: tuple[str, ...] = (
    "/reactions",  # an existing reaction is answered 200 with that reaction
    "/requested_reviewers",  # requesting a review again changes nothing
    "/access_tokens",  # a second installation token is harmless
)

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
_RATE_LIMIT_STATUSES = frozenset({403, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying one request (and one guarded create)."""

    retries: int = 5
    backoff_factor: float = 1.0
    backoff_max: float = 30.0
    secondary_rate_wait: float = 60.0
    max_rate_limit_wait: float = 300.0
    max_total_wait: float = 600.0

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError("RetryPolicy.retries must be >= 0")
        if min(self.backoff_factor, self.backoff_max, self.secondary_rate_wait) < 0:
            raise ValueError("RetryPolicy waits must be >= 0")
        if self.max_rate_limit_wait < 0 or self.max_total_wait < 0:
            raise ValueError("RetryPolicy limits must be >= 0")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (1-based) of a guarded create."""
        if attempt <= 1:
            return 0.0
        return float(min(self.backoff_max, self.backoff_factor * 2 ** (attempt - 2)))

    def build(self) -> AutocoderRetry:
        return AutocoderRetry(
            total=self.retries,
            backoff_factor=self.backoff_factor,
            backoff_max=self.backoff_max,
            secondary_rate_wait=self.secondary_rate_wait,
            max_rate_limit_wait=self.max_rate_limit_wait,
            max_total_wait=self.max_total_wait,
            status_forcelist=[*range(500, 600), 429],
            allowed_methods=_IDEMPOTENT_METHODS | {"POST"},
            raise_on_status=False,
            raise_on_redirect=False,
            retry_after_max=max(1, int(self.max_rate_limit_wait) + 1),
        )


def is_idempotent_post(url: str | None) -> bool:
    path = (url or "").split("?", 1)[0].rstrip("/")
    return path.endswith(IDEMPOTENT_POST_SUFFIXES)


class AutocoderRetry(GithubRetry):
    """`GithubRetry` plus the rules in this module's docstring."""

    def __init__(
        self,
        *,
        max_total_wait: float = 600.0,
        started_at: float | None = None,
        waited: float = 0.0,
        **kwargs: Any,
    ) -> None:
        self.max_total_wait = max_total_wait
        self.started_at = started_at  # monotonic time of this request's first failure
        self.waited = waited  # seconds of sleeping planned so far for this request
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> AutocoderRetry:
        kw.update(
            max_total_wait=self.max_total_wait, started_at=self.started_at, waited=self.waited
        )
        return super().new(**kw)

    @property
    def _rate_limit_cap(self) -> float:
        return float("inf") if self.max_rate_limit_wait is None else self.max_rate_limit_wait

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Retry:
        if response is None and isinstance(error, NewConnectionError):
            # Refused, or an unknown host (NameResolutionError is a NewConnectionError).
            raise MaxRetryError(cast(ConnectionPool, _pool), url or "", error)
        verb = (method or "").upper()
        unsafe_post = verb == "POST" and not is_idempotent_post(url)
        if response is not None and response.status >= 500 and unsafe_post:
            self._give_up(_pool, url, f"{verb} answered {response.status}; not retried blindly")
        if response is None and error is not None and unsafe_post and self._is_read_error(error):
            # The request reached GitHub and may have been carried out.
            raise error
        if response is not None and response.status in _RATE_LIMIT_STATUSES:
            retry_after = (
                self.get_retry_after(response) if "Retry-After" in response.headers else None
            )
            if retry_after is not None and retry_after > self._rate_limit_cap:
                self._give_up(_pool, url, f"Retry-After {retry_after:.0f}s exceeds the limit")
            if response.status == 429 and retry_after is None:
                wait = self._rate_wait(response)
                plain = Retry.increment(self, method, url, response, error, _pool, _stacktrace)
                return self._checked(_with_backoff(plain, wait), response, url, _pool)
        retried = super().increment(
            method,
            url,
            cast(HTTPResponse | None, response),
            error,
            _pool,
            _stacktrace,
        )
        return self._checked(retried, response, url, _pool)

    def _rate_wait(self, response: BaseHTTPResponse) -> float:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset = response.headers.get("X-RateLimit-Reset")
        if remaining == "0" and reset is not None and reset.isdigit():
            wait = max(0.0, int(reset) - time.time()) + 1.0
        else:
            wait = self.secondary_rate_wait
        if wait > self._rate_limit_cap:
            self._give_up(None, None, f"rate limit wait {wait:.0f}s exceeds the limit")
        return wait

    def _checked(
        self,
        retried: Retry,
        response: BaseHTTPResponse | None,
        url: str | None,
        pool: ConnectionPool | None,
    ) -> Retry:
        """Refuse a retry whose wait would take this request past `max_total_wait`."""
        assert isinstance(retried, AutocoderRetry)
        upcoming = None
        if response is not None and retried.respect_retry_after_header:
            upcoming = retried.get_retry_after(response)
        if upcoming is None:
            upcoming = retried.get_backoff_time()
        now = time.monotonic()
        started = self.started_at if self.started_at is not None else now
        spent = max(now - started, self.waited)
        if spent + upcoming > self.max_total_wait:
            self._give_up(pool, url, f"retrying would exceed {self.max_total_wait:.0f}s")
        retried.started_at = started
        retried.waited = self.waited + upcoming
        return retried

    @staticmethod
    def _give_up(pool: ConnectionPool | None, url: str | None, reason: str) -> None:
        # urllib3 answers MaxRetryError by returning the last response (raise_on_status=False).
        raise MaxRetryError(cast(ConnectionPool, pool), url or "", ResponseError(reason))


def _with_backoff(retry: Retry, seconds: float) -> Retry:
    """Make the next sleep at least `seconds` (what GithubRetry does for rate-limit 403s)."""
    backoff = max(seconds, retry.get_backoff_time())

    def get_backoff_time() -> float:
        return backoff

    retry.get_backoff_time = get_backoff_time  # type: ignore[method-assign]
    return retry
