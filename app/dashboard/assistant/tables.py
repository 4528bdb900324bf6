"""The assistant's tables (migration 0009_assistant): each repository's conversation with a
person, message by message in the chat-completions shape, and the feature changes it proposed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class AssistantMessage(Base):
    __tablename__ = "assistant_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(200), index=True)
    principal: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # user, assistant, tool
    message: Mapped[dict[str, Any]] = mapped_column(JSON)  # as sent to the model
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AssistantProposal(Base):
    __tablename__ = "assistant_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(200), index=True)
    principal: Mapped[str] = mapped_column(String(200))
    tool: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending, confirmed, rejected, failed
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
