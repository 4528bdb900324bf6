"""Primary rate limits: a budget per token (installation, user, app, anonymous) per hour."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .clock import Clock

WINDOW_SECONDS = 3600


@dataclass
class Bucket:
    limit: int
    used: int
    reset: int  # epoch seconds when the window ends

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def headers(self, resource: str = "core") -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": resource,
        }


class RateLimits:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def bucket(self, key: str, limit: int) -> Bucket:
        """The current window's bucket for `key` (a new window once the old one has ended)."""
        now = self._clock.timestamp()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or now >= bucket.reset:
                bucket = Bucket(limit=limit, used=0, reset=now + WINDOW_SECONDS)
                self._buckets[key] = bucket
            return bucket

    def spend(self, key: str, limit: int) -> Bucket:
        bucket = self.bucket(key, limit)
        with self._lock:
            bucket.used += 1
        return bucket

    def exhaust(self, key: str, limit: int) -> None:
        bucket = self.bucket(key, limit)
        with self._lock:
            bucket.used = bucket.limit

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
