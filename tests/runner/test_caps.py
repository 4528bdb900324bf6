"""Spend caps, stalls and loops in the one place they are checked (`runner.limits`), the
repository's say over them (`.github/autocoder.yml` may lower, never raise) and the live
spend line the check run shows. Pure: no I/O, a fake clock."""

from __future__ import annotations

import pytest

from runner.limits import LimitGuard, LimitReached, lowered_limits
from runner.repo_config import RepoConfigError, parse_repo_config
from runner.reporting.spend_text import spend_line
from runner.spend import Cap, CapScope, ScopeBudget, first_exhausted
from runner.task import Limits, Usage


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def issue_budget(cap_usd: float, spent_usd: float) -> ScopeBudget:
    return ScopeBudget(scope=CapScope.ISSUE, cap=Cap(usd=cap_usd), spent_usd=spent_usd)


def test_session_spend_cap_is_named() -> None:
    guard = LimitGuard(Limits(max_cost_usd=1.0))
    guard.record_turn(cost_usd=0.4)
    with pytest.raises(LimitReached) as caught:
        guard.record_turn(cost_usd=0.7)
    assert caught.value.kind == "cost"
    assert caught.value.scope is CapScope.SESSION
    assert str(caught.value) == "spend cap per session reached: $1.10 of $1.00"


def test_issue_cap_counts_what_earlier_sessions_spent() -> None:
    limits = Limits(max_cost_usd=5.0, budgets=(issue_budget(2.0, 1.5),))
    guard = LimitGuard(limits)
    guard.record_turn(cost_usd=0.3)  # 1.8 of 2.0: goes on
    with pytest.raises(LimitReached) as caught:
        guard.record_turn(cost_usd=0.3)
    assert caught.value.scope is CapScope.ISSUE
    assert (
        str(caught.value)
        == "spend cap per issue reached: $2.10 of $2.00 (earlier sessions included)"
    )
    assert guard.cost_left() == 0.0


def test_token_caps_per_session_and_per_repository_day() -> None:
    day = ScopeBudget(scope=CapScope.REPOSITORY_DAY, cap=Cap(tokens=1000), spent_tokens=900)
    guard = LimitGuard(Limits(max_tokens=500, budgets=(day,)))
    with pytest.raises(LimitReached) as caught:
        guard.record_turn(input_tokens=80, output_tokens=30)
    assert caught.value.kind == "tokens"
    assert str(caught.value) == (
        "token cap per repository per day reached: 1,010 of 1,000 tokens (earlier sessions "
        "included)"
    )
    guard = LimitGuard(Limits(max_tokens=500))
    guard.record_turn(input_tokens=300, output_tokens=100)
    with pytest.raises(LimitReached, match="token cap per session reached: 600 of 500"):
        guard.record_turn(input_tokens=100, output_tokens=100)


def test_cost_left_is_the_tightest_cap_and_cost_limit_names_it() -> None:
    month = ScopeBudget(scope=CapScope.INSTALLATION_MONTH, cap=Cap(usd=100.0), spent_usd=99.25)
    guard = LimitGuard(Limits(max_cost_usd=5.0, budgets=(issue_budget(10.0, 1.0), month)))
    guard.set_cost(0.25)
    assert guard.cost_left() == pytest.approx(0.5)
    reached = guard.cost_limit()
    assert reached.scope is CapScope.INSTALLATION_MONTH
    assert "per installation per month" in str(reached)


def test_a_used_up_budget_is_refused_before_any_turn() -> None:
    budgets = (issue_budget(2.0, 0.5), issue_budget(1.0, 1.0))
    assert first_exhausted(budgets) == (budgets[1], "cost")
    assert first_exhausted(budgets[:1]) is None
    with pytest.raises(LimitReached, match="per issue"):
        LimitGuard(Limits(budgets=budgets)).check()


def test_repository_config_lowers_limits_and_never_raises_them() -> None:
    config = parse_repo_config(
        "max_turns: 500\nmax_cost_usd: 1.5\nmax_tokens: 9000\ntimeout_minutes: 90\n"
        "max_cost_usd_per_issue: 50\nmax_tokens_per_repository_day: 100\n"
    )
    operator = Limits(
        max_turns=50,
        timeout_s=1800,
        max_cost_usd=5.0,
        max_tokens=None,
        budgets=(
            issue_budget(20.0, 1.0),
            ScopeBudget(scope=CapScope.REPOSITORY_DAY, cap=Cap(usd=30.0, tokens=1000)),
        ),
    )
    limits = lowered_limits(
        operator,
        max_turns=config.max_turns,
        timeout_minutes=config.timeout_minutes,
        max_cost_usd=config.max_cost_usd,
        max_tokens=config.max_tokens,
        caps=config.caps(),
    )
    assert limits.max_turns == 50  # 500 would raise it: ignored
    assert limits.timeout_s == 1800
    assert limits.max_cost_usd == 1.5  # lowered
    assert limits.max_tokens == 9000  # the operator set none: the repository's holds
    assert limits.budgets[0].cap == Cap(usd=20.0)  # 50 would raise it
    assert limits.budgets[1].cap == Cap(usd=30.0, tokens=100)  # tokens lowered
    assert limits.budgets[0].spent_usd == 1.0


def test_repository_config_refuses_a_malformed_cap() -> None:
    with pytest.raises(RepoConfigError, match="max_tokens_per_issue"):
        parse_repo_config("max_tokens_per_issue: -3\n")


def test_a_stall_is_declared_after_stall_s_without_progress() -> None:
    clock = Clock()
    guard = LimitGuard(Limits(stall_s=30.0), clock=clock)
    clock.now += 29
    assert guard.stalled() is None
    assert guard.next_stall_check_s() == pytest.approx(1.0)
    guard.touch()
    clock.now += 29
    assert guard.stalled() is None
    clock.now += 2
    stall = guard.stalled()
    assert stall is not None and stall.kind == "stall"
    assert str(stall) == "no model or tool progress for 30 s (stalled; timed out)"
    assert LimitGuard(Limits(stall_s=None), clock=clock).next_stall_check_s() is None


def test_the_same_call_and_result_n_times_in_a_row_is_a_loop() -> None:
    guard = LimitGuard(Limits(loop_repeats=3))
    guard.note_tool_call("run_command", '{"command": "ls"}', "a\nb", "ls")
    guard.note_tool_call("run_command", '{"command": "ls"}', "a\nb", "ls")
    guard.check()  # twice: not yet
    guard.note_tool_call("run_command", '{"command": "ls"}', "a\nb\nc", "ls")  # new result
    guard.note_tool_call("run_command", '{"command": "ls"}', "a\nb\nc", "ls")
    guard.note_tool_call("read_file", '{"path": "x"}', "x", "x")  # another call between
    guard.note_tool_call("run_command", '{"command": "ls"}', "a\nb\nc", "ls")
    guard.note_tool_call("run_command", '{"command": "ls"}', "a\nb\nc", "ls")
    guard.check()
    guard.note_tool_call("run_command", '{"command": "ls"}', "a\nb\nc", "ls")
    with pytest.raises(LimitReached) as caught:
        guard.check()
    assert caught.value.kind == "loop"
    assert str(caught.value) == (
        "loop detected: the same tool call (run_command ls) gave the same result 3 times in a row"
    )


def test_live_spend_line_says_what_each_cap_leaves() -> None:
    guard = LimitGuard(Limits(max_cost_usd=2.0, budgets=(issue_budget(5.0, 4.0),)))
    seen: list[Usage] = []
    guard.on_usage = seen.append
    guard.record_turn(input_tokens=1000, output_tokens=234, cost_usd=0.25)
    assert seen[-1] == Usage(turns=1, input_tokens=1000, output_tokens=234, cost_usd=0.25)
    assert spend_line(seen[-1], guard.scopes()) == (
        "Spent so far: $0.2500 · 1,234 tokens · 1 turns — left: $1.75 per session, $0.75 per issue"
    )
