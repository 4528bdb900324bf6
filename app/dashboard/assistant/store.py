"""The assistant's conversations and proposals in the database: one conversation per repository
and person, kept message by message so it resumes where the person left it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.dashboard.assistant.proposals import CONFIRMED, PENDING
from app.dashboard.assistant.tables import AssistantMessage, AssistantProposal

MAX_HISTORY = 200  # messages sent back to the model (the newest; the page shows them all)


def _now() -> datetime:
    return datetime.now(UTC)


class ConversationStore:
    def __init__(self, sessions: sessionmaker[Session], repository: str, principal: str) -> None:
        self.sessions = sessions
        self.repository = repository
        self.principal = principal

    def messages(self) -> list[dict[str, Any]]:
        """The conversation so far, oldest first, in the chat-completions shape."""
        with self.sessions() as db:
            rows = db.scalars(
                select(AssistantMessage)
                .where(
                    AssistantMessage.repository == self.repository,
                    AssistantMessage.principal == self.principal,
                )
                .order_by(AssistantMessage.id)
            ).all()
        return [dict(row.message) for row in rows]

    def history(self) -> list[dict[str, Any]]:
        """What the model is sent: the newest messages, starting at a person's message (a
        cut never separates tool results from the call they answer)."""
        messages = self.messages()[-MAX_HISTORY:]
        while messages and messages[0].get("role") != "user":
            messages.pop(0)
        return messages

    def append(self, message: dict[str, Any]) -> None:
        with self.sessions() as db, db.begin():
            db.add(
                AssistantMessage(
                    repository=self.repository,
                    principal=self.principal,
                    role=str(message.get("role")),
                    message=message,
                    created_at=_now(),
                )
            )

    def propose(self, tool: str, arguments: dict[str, Any], summary: str) -> int:
        with self.sessions() as db, db.begin():
            row = AssistantProposal(
                repository=self.repository,
                principal=self.principal,
                tool=tool,
                arguments=arguments,
                summary=summary,
                status=PENDING,
                created_at=_now(),
            )
            db.add(row)
            db.flush()
            return row.id

    def proposals(self) -> list[dict[str, Any]]:
        with self.sessions() as db:
            rows = db.scalars(
                select(AssistantProposal)
                .where(
                    AssistantProposal.repository == self.repository,
                    AssistantProposal.principal == self.principal,
                )
                .order_by(AssistantProposal.id)
            ).all()
        return [proposal_json(row) for row in rows]

    def claim(self, proposal_id: int) -> AssistantProposal | None:
        """Take a pending proposal of this conversation for confirmation, once: None when it
        is not this conversation's or no longer pending (a double click writes once)."""
        with self.sessions() as db, db.begin():
            row = db.get(AssistantProposal, proposal_id, with_for_update=True)
            if row is None or (row.repository, row.principal) != (self.repository, self.principal):
                return None
            if row.status != PENDING:
                return None
            row.status, row.decided_by = CONFIRMED, self.principal
            return row

    def record(self, proposal_id: int, status: str, result: str | None) -> None:
        with self.sessions() as db, db.begin():
            row = db.get(AssistantProposal, proposal_id)
            if row is not None:
                row.status, row.result = status, result


def proposal_json(row: AssistantProposal) -> dict[str, Any]:
    return {
        "id": row.id,
        "tool": row.tool,
        "arguments": row.arguments,
        "summary": row.summary,
        "status": row.status,
        "result": row.result,
    }
