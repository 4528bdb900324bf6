"""When to try a GitHub request again, and after how long: one pure policy for every request
autocoder sends (`runner.github.http.GitHubHTTP` carries it out).

The rules:
- A 5xx or a broken connection is retried with exponential backoff, for GET/PUT/PATCH/DELETE
  (every mutation autocoder sends with them sets fields to absolute values, so sending it twice
  leaves the same state) and for POSTs GitHub deduplicates itself (reactions, review requests,
  installation tokens). Any other POST is NOT retried there: GitHub may have done the work, and
  a retried "create" could make a second pull request, check run or comment. Those are retried
  one level up, in the client, after a lookup proved the first attempt left nothing behind
  (`GitHubClient._create_once`).
- A rate limit (429, or a 403 whose body or headers say so) is retried for every method, POST
  included (GitHub refused it before doing anything): after `retry-after`, else until
  `x-ratelimit-reset` when the limit is exhausted, else `secondary_rate_wait` (a secondary
  limit). A wait longer than `max_rate_limit_wait` is not slept through: the error is raised
  with the reset time.
- A connection that cannot be made (refused, unknown host) is not retried: that is almost always
  a wrong URL, not a passing fault.
- Every request's retries are bounded in count (`retries`) and in total sleeping time
  (`max_total_wait`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

# POST endpoints where GitHub itself deduplicates: sending twice has the effect of sending once.
IDEMPOTENT_POST_SUFFIXES: tuple[str, ...] = (
    "/reactions",  # an existing reaction is answered 200 with that reaction
    "/requested_reviewers",  # requesting a review again changes nothing
    "/access_tokens",  # a second installation token is harmless
)


class Failure(Enum):
    """What went wrong with one attempt, as far as retrying is concerned."""

    SERVER = "server"  # a 5xx answer
    RATE_LIMIT = "rate_limit"  # 429, or a rate-limit 403
    BROKEN = "broken"  # the connection broke or timed out after the request went out
    UNREACHABLE = "unreachable"  # no connection could be made at all


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
        """Seconds to wait before attempt number `attempt` (1-based): none before the first,
        then `backoff_factor` doubling each time, capped at `backoff_max`."""
        if attempt <= 1:
            return 0.0
        return float(min(self.backoff_max, self.backoff_factor * 2 ** (attempt - 2)))

    def wait_before_retry(
        self,
        method: str,
        url: str,
        failure: Failure,
        *,
        attempt: int,
        waited: float,
        headers: Mapping[str, str] | None = None,
        now: float | None = None,
    ) -> float | None:
        """Seconds to sleep before sending again after attempt number `attempt` (1-based)
        failed, having slept `waited` seconds so far; None: do not retry (raise)."""
        if attempt > self.retries or failure is Failure.UNREACHABLE:
            return None
        if failure is Failure.RATE_LIMIT:
            wait = self.rate_limit_wait(headers or {}, now=now)
            if wait is None:
                return None
        elif is_retry_safe(method, url):
            wait = self.backoff(attempt + 1)
        else:
            return None
        if waited + wait > self.max_total_wait:
            return None
        return wait

    def rate_limit_wait(
        self, headers: Mapping[str, str], *, now: float | None = None
    ) -> float | None:
        """How long a rate-limited request must wait (None: longer than we may wait)."""
        lower = {k.lower(): v for k, v in headers.items()}
        retry_after = lower.get("retry-after", "").strip()
        reset = lower.get("x-ratelimit-reset", "").strip()
        if retry_after.isdigit():
            wait = float(retry_after)
        elif lower.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            wait = max(0.0, int(reset) - (time.time() if now is None else now)) + 1.0
        else:
            wait = self.secondary_rate_wait
        return None if wait > self.max_rate_limit_wait else wait


def is_idempotent_post(url: str | None) -> bool:
    path = (url or "").split("?", 1)[0].rstrip("/")
    return path.endswith(IDEMPOTENT_POST_SUFFIXES)


def is_retry_safe(method: str, url: str) -> bool:
    """Whether sending this request twice leaves the same state as sending it once."""
    return method.upper() != "POST" or is_idempotent_post(url)
