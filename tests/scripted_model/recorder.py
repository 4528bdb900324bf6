"""Records every request a scripted model server receives, for assertions in tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["turn", "exhausted", "fault", "stall", "auxiliary", "invalid", "unknown"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request: what was sent, and what the server made of it.

    role: `turn` (served turn `turn_index`), `exhausted` (got the final text), `fault` / `stall`
    (an injected error for turn `turn_index`), `auxiliary` (a side request answered without
    consuming a turn; `note` says which), `invalid` (unparseable body), `unknown` (no such route).
    """

    seq: int
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    role: Role
    turn_index: int | None = None
    note: str = ""
    status: int = 200
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "role": self.role,
            "turn_index": self.turn_index,
            "note": self.note,
            "status": self.status,
            "at": self.at,
        }


class RequestRecorder:
    """A thread-safe, append-only list of `RecordedRequest`s."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def record(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: Any,
        role: Role,
        turn_index: int | None = None,
        note: str = "",
        status: int = 200,
    ) -> RecordedRequest:
        with self._lock:
            item = RecordedRequest(
                seq=len(self._items),
                method=method,
                path=path,
                query=query,
                headers=headers,
                body=body,
                role=role,
                turn_index=turn_index,
                note=note,
                status=status,
            )
            self._items.append(item)
            return item

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of everything recorded so far, oldest first."""
        with self._lock:
            return list(self._items)

    def with_role(self, *roles: Role) -> list[RecordedRequest]:
        return [r for r in self.requests if r.role in roles]
