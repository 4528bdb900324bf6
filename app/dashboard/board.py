"""The Kanban board of one repository, as plain data: which column each feature is in.

Pure: `column_for` and `build_board` take what the mirror and the queue know (the feature's
agent status, its active job, its last session) and say where the card goes. A running or queued
job wins over the feature's recorded status (the queue is the fresher truth); a pull request
whose last session concluded `success` is `passing`, as is a feature that is done.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.db.models import AgentStatus


class Column(enum.StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    PR_OPEN = "pr_open"
    PASSING = "passing"
    FAILED = "failed"

    @property
    def heading(self) -> str:
        return _TITLES[self]


_TITLES = {
    Column.PENDING: "Pending",
    Column.QUEUED: "Queued",
    Column.RUNNING: "Running",
    Column.PR_OPEN: "PR open",
    Column.PASSING: "Passing",
    Column.FAILED: "Failed",
}


@dataclass(frozen=True)
class CardInput:
    """What the board needs to know of one feature."""

    number: int
    title: str
    agent_status: str
    issue_state: str = "open"
    html_url: str | None = None
    job_id: int | None = None  # the active job, else the latest one (its session page)
    job_state: str | None = None  # the active job's state (queued / running), if any
    last_conclusion: str | None = None  # the last session's conclusion, if any
    pull_request_url: str | None = None
    cost_usd: float = 0.0


@dataclass(frozen=True)
class Card:
    number: int
    title: str
    column: Column
    html_url: str | None
    job_id: int | None
    pull_request_url: str | None
    last_conclusion: str | None
    cost_usd: float
    can_start: bool
    can_stop: bool
    can_retry: bool


@dataclass(frozen=True)
class Board:
    repository: str
    columns: tuple[tuple[Column, tuple[Card, ...]], ...]
    passing: int
    total: int


def column_for(item: CardInput) -> Column:
    if item.job_state == "running":
        return Column.RUNNING
    if item.job_state == "queued":
        return Column.QUEUED
    status = item.agent_status
    if status == AgentStatus.RUNNING.value:
        return Column.RUNNING
    if status == AgentStatus.QUEUED.value:
        return Column.QUEUED
    if status == AgentStatus.FAILED.value:
        return Column.FAILED
    if status == AgentStatus.DONE.value:
        return Column.PASSING
    if status == AgentStatus.PR_OPEN.value:
        return Column.PASSING if item.last_conclusion == "success" else Column.PR_OPEN
    return Column.PENDING


def card_for(item: CardInput) -> Card:
    column = column_for(item)
    active = column in (Column.QUEUED, Column.RUNNING)
    open_issue = item.issue_state == "open"
    return Card(
        number=item.number,
        title=item.title,
        column=column,
        html_url=item.html_url,
        job_id=item.job_id,
        pull_request_url=item.pull_request_url,
        last_conclusion=item.last_conclusion,
        cost_usd=item.cost_usd,
        can_start=open_issue and not active and item.last_conclusion is None,
        can_stop=active,
        can_retry=open_issue and not active and item.last_conclusion is not None,
    )


def build_board(repository: str, items: Iterable[CardInput]) -> Board:
    cards = sorted((card_for(item) for item in items), key=lambda card: card.number)
    by_column: dict[Column, list[Card]] = {column: [] for column in Column}
    for card in cards:
        by_column[card.column].append(card)
    columns: Sequence[tuple[Column, tuple[Card, ...]]] = tuple(
        (column, tuple(by_column[column])) for column in Column
    )
    passing = len(by_column[Column.PASSING])
    return Board(repository, tuple(columns), passing=passing, total=len(cards))
