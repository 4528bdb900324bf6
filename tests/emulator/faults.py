"""Faults injected on a route for the next N requests: 5xx, secondary and primary rate limits."""

from __future__ import annotations

import fnmatch
import re
import threading
from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["500", "502", "503", "secondary_rate_limit", "429", "rate_limit"]
FAULT_KINDS: tuple[str, ...] = ("500", "502", "503", "secondary_rate_limit", "429", "rate_limit")

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)
PRIMARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
)


@dataclass
class Fault:
    """`path` is a glob (`/repos/*/issues*`) or, prefixed with `re:`, a regular expression."""

    id: int
    kind: FaultKind
    method: str  # an HTTP method or "*"
    path: str
    remaining: int
    retry_after: int | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self.path.startswith("re:"):
            return re.fullmatch(self.path[3:], path) is not None
        return fnmatch.fnmatchcase(path, self.path)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "remaining": self.remaining,
            "retry_after": self.retry_after,
        }


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = 1
        self._lock = threading.Lock()

    def add(
        self, kind: FaultKind, method: str, path: str, count: int, retry_after: int | None
    ) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            fault = Fault(self._ids, kind, method, path, count, retry_after)
            self._ids += 1
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first active fault for this request, counted down by one."""
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    return fault
            return None

    def list(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.remaining > 0]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
