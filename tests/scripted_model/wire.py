"""Small helpers shared by both APIs: ids, token estimates, SSE framing, chunking."""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """An id shaped like the real APIs' (`msg_01…`, `toolu_01…`, `chatcmpl-…`, `call_…`)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def estimate_tokens(value: Any) -> int:
    """A rough token count (about four characters a token), at least 1."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return max(1, len(text) // 4)


def split_text(text: str, pieces: int = 3) -> list[str]:
    """Split text into up to `pieces` non-empty consecutive parts, as streamed deltas arrive."""
    if not text:
        return []
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event: optional `event:` line, one `data:` line, blank line."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()
