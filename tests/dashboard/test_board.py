"""Where a feature's card goes on the board: a table of what the mirror and queue know."""

from __future__ import annotations

import pytest

from app.dashboard.board import CardInput, Column, build_board, card_for, column_for


@pytest.mark.parametrize(
    ("agent_status", "job_state", "conclusion", "column"),
    [
        ("pending", None, None, Column.PENDING),
        ("queued", None, None, Column.QUEUED),
        ("pending", "queued", None, Column.QUEUED),  # the queue is fresher than the mirror
        ("failed", "running", "failure", Column.RUNNING),  # a retry is running
        ("running", None, None, Column.RUNNING),
        ("pr_open", None, "success", Column.PASSING),
        ("pr_open", None, "neutral", Column.PR_OPEN),
        ("pr_open", None, "timed_out", Column.PR_OPEN),
        ("done", None, "success", Column.PASSING),
        ("failed", None, "failure", Column.FAILED),
        ("pending", None, "cancelled", Column.PENDING),  # stopped
    ],
)
def test_column(
    agent_status: str, job_state: str | None, conclusion: str | None, column: Column
) -> None:
    item = CardInput(1, "t", agent_status, job_state=job_state, last_conclusion=conclusion)
    assert column_for(item) is column


def test_buttons_follow_the_state() -> None:
    never_ran = card_for(CardInput(1, "t", "pending"))
    assert (never_ran.can_start, never_ran.can_stop, never_ran.can_retry) == (True, False, False)
    running = card_for(CardInput(1, "t", "running", job_state="running"))
    assert (running.can_start, running.can_stop, running.can_retry) == (False, True, False)
    failed = card_for(CardInput(1, "t", "failed", last_conclusion="failure"))
    assert (failed.can_start, failed.can_stop, failed.can_retry) == (False, False, True)
    closed = card_for(CardInput(1, "t", "done", issue_state="closed", last_conclusion="success"))
    assert (closed.can_start, closed.can_stop, closed.can_retry) == (False, False, False)


def test_board_counts_passing_of_total_and_orders_cards() -> None:
    board = build_board(
        "octo/hello",
        [
            CardInput(3, "c", "done", last_conclusion="success"),
            CardInput(1, "a", "pending"),
            CardInput(2, "b", "pr_open", last_conclusion="success"),
            CardInput(4, "d", "failed", last_conclusion="failure"),
        ],
    )
    assert (board.passing, board.total) == (2, 4)
    columns = dict(board.columns)
    assert [card.number for card in columns[Column.PASSING]] == [2, 3]
    assert [column for column, _ in board.columns] == list(Column)
