"""One conversation: its messages and its correlation id (sent as `x-correlation-id`).

`/clear` and `/reset` start over: the history goes and a new correlation id is drawn, so the
endpoint's logs for the new conversation are not mixed with the old one's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any


def new_correlation_id() -> str:
    return str(uuid.uuid4())


class Conversation:
    def __init__(
        self, system_prompt: str, *, new_id: Callable[[], str] = new_correlation_id
    ) -> None:
        self.system_prompt = system_prompt
        self._new_id = new_id
        self.correlation_id = new_id()
        self.messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]

    def reset(self) -> str:
        """Forget the history and draw a new correlation id; returns the new id."""
        self.messages = [{"role": "system", "content": self.system_prompt}]
        self.correlation_id = self._new_id()
        return self.correlation_id

    @property
    def exchanges(self) -> int:
        """How many prompts the person has sent in this conversation."""
        return sum(1 for message in self.messages if message["role"] == "user")

    def mark(self) -> int:
        return len(self.messages)

    def rollback(self, mark: int) -> None:
        del self.messages[mark:]

    def transcript(self, max_chars: int = 20_000) -> str:
        """The person's prompts and the assistant's answers so far, as plain text (the newest
        kept when it is too long), for engines that cannot take the message list."""
        lines = []
        for message in self.messages:
            content = message.get("content")
            if message["role"] in ("user", "assistant") and isinstance(content, str) and content:
                who = "Person" if message["role"] == "user" else "Assistant"
                lines.append(f"{who}: {content.strip()}")
        text = "\n\n".join(lines)
        return text[-max_chars:]
