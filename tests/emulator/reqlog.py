"""The request log: every REST request the emulator answered (not git, not the control API)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class RequestRecord:
    method: str
    path: str  # without the query string
    query: str
    status: int
    request_headers: dict[str, str]
    request_body: Any | None  # parsed JSON, or None
    response_body: Any | None  # parsed JSON, or None
    operation: str | None = None  # GitHub's operationId, e.g. "issues/get"
    token_kind: str | None = None  # "jwt" | "installation" | "user" | None
    fault: str | None = None  # the injected fault that answered, if any

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RequestRecord:
        return cls(**data)


class RequestLog:
    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
