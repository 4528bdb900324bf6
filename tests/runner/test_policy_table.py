"""The command policy on a table of real commands: what is allowed, what is refused, and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.policy import CommandPolicy, judge_command
from tests.runner.policy_cases import TABLE


@pytest.fixture()
def policy(tmp_path: Path) -> CommandPolicy:
    worktree = tmp_path / "wt"
    (worktree / "src").mkdir(parents=True)
    return CommandPolicy.default(worktree)


def test_table_is_large_enough() -> None:
    assert len(TABLE) >= 200
    assert len({command for command, _, _ in TABLE}) == len(TABLE)


@pytest.mark.parametrize(("command", "allowed", "fragment"), TABLE)
def test_command_table(policy: CommandPolicy, command: str, allowed: bool, fragment: str) -> None:
    verdict = judge_command(command, policy)
    assert verdict.allowed is allowed, verdict.reason
    if not allowed:
        assert fragment in verdict.reason
