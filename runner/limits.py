"""Turn, spend, token, wall-time, stall and loop limits, enforced in one place for every engine.

Engines call `LimitGuard.record_turn` after each model turn, `touch` whenever the model or a
tool makes progress, and `note_tool_call` with each tool call's result; the guard raises
`LimitReached` the moment a limit is passed. Spend is checked against every capped scope
(`runner.spend`: the session, and — from the work order — the issue, the repository's day and
the installation's month); the message names the cap that ended the session.

Wall time and stalls are also watched from outside the engine by the orchestrator
(`runner.session`), which asks `remaining_s` and `stalled`: an engine stuck inside one request
still stops.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from runner.spend import Cap, CapScope, ScopeBudget, lower
from runner.task import Limits, Usage

# What `LimitReached.kind` may be.
KINDS = ("turns", "cost", "tokens", "time", "stall", "loop")


class LimitReached(Exception):
    """A session limit was reached. `kind` is one of `KINDS`; `scope` names the capped scope
    for "cost" and "tokens"."""

    def __init__(self, kind: str, message: str, scope: CapScope | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.scope = scope


def lowered_limits(
    limits: Limits,
    *,
    max_turns: int | None = None,
    timeout_minutes: float | None = None,
    max_cost_usd: float | None = None,
    max_tokens: int | None = None,
    caps: dict[CapScope, Cap] | None = None,
) -> Limits:
    """`limits` with a repository's own settings applied: each may lower a limit, never raise
    it (a repository's `.github/autocoder.yml` is not the operator)."""
    session = lower(
        Cap(usd=limits.max_cost_usd, tokens=limits.max_tokens),
        Cap(usd=max_cost_usd, tokens=max_tokens),
    )
    caps = caps or {}
    if CapScope.SESSION in caps:
        session = lower(session, caps[CapScope.SESSION])
    budgets = tuple(
        budget.with_cap(lower(budget.cap, caps[budget.scope])) if budget.scope in caps else budget
        for budget in limits.budgets
    )
    return replace(
        limits,
        max_turns=min(limits.max_turns, max_turns or limits.max_turns),
        timeout_s=min(limits.timeout_s, timeout_minutes * 60 if timeout_minutes else 1e18),
        max_cost_usd=session.usd if session.usd is not None else limits.max_cost_usd,
        max_tokens=session.tokens,
        budgets=budgets,
    )


@dataclass
class LimitGuard:
    limits: Limits
    clock: Callable[[], float] = time.monotonic
    # Told the session's usage after every change (live spend on the check run, the worker).
    on_usage: Callable[[Usage], None] = field(default=lambda usage: None)

    def __post_init__(self) -> None:
        self.started = self.clock()
        self.last_progress = self.started
        self.turns = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0
        self._repeat_key: str | None = None
        self._repeats = 0
        self._loop: str | None = None

    # -- what the engines report -------------------------------------------------------------

    def record_turn(
        self, *, input_tokens: int = 0, output_tokens: int = 0, cost_usd: float = 0.0
    ) -> None:
        self.turns += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost_usd += cost_usd
        self.touch()
        self._usage_changed()
        self.check()

    def set_cost(self, cost_usd: float) -> None:
        """For engines that report a running total rather than per-turn cost."""
        if cost_usd > self.cost_usd:
            self.cost_usd = cost_usd
            self._usage_changed()

    def set_tokens(self, *, input_tokens: int, output_tokens: int) -> None:
        """For engines that report running token totals (never lowers the counts)."""
        if input_tokens > self.input_tokens or output_tokens > self.output_tokens:
            self.input_tokens = max(self.input_tokens, input_tokens)
            self.output_tokens = max(self.output_tokens, output_tokens)
            self._usage_changed()

    def touch(self) -> None:
        """The model or a tool made progress (a message, a tool result)."""
        self.last_progress = self.clock()

    def note_tool_call(self, name: str, call: str, result: str, summary: str = "") -> None:
        """One tool call and its result. The same call with the same result `loop_repeats`
        times in a row is a loop: the next `check` raises it."""
        self.touch()
        key = hashlib.sha256(f"{name}\0{call}\0{result}".encode()).hexdigest()
        if key == self._repeat_key:
            self._repeats += 1
        else:
            self._repeat_key, self._repeats = key, 1
        repeats = self.limits.loop_repeats
        if repeats is not None and self._repeats >= repeats and self._loop is None:
            what = f"{name} {summary}".strip()
            self._loop = (
                f"loop detected: the same tool call ({what[:200]}) gave the same result "
                f"{self._repeats} times in a row"
            )

    # -- the checks --------------------------------------------------------------------------

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def scopes(self) -> tuple[ScopeBudget, ...]:
        """Every capped scope, the session's own first."""
        session = ScopeBudget(
            scope=CapScope.SESSION,
            cap=Cap(usd=self.limits.max_cost_usd, tokens=self.limits.max_tokens),
        )
        return (session, *self.limits.budgets)

    def check(self) -> None:
        if self._loop is not None:
            raise LimitReached("loop", self._loop)
        if self.turns >= self.limits.max_turns:
            raise LimitReached("turns", f"turn limit reached ({self.limits.max_turns} turns)")
        self.check_spend()
        if self.elapsed() >= self.limits.timeout_s:
            raise LimitReached("time", f"wall-time limit reached ({self.limits.timeout_s:.0f} s)")

    def check_spend(self) -> None:
        for budget in self.scopes():
            kind = budget.reached(self.cost_usd, self.tokens)
            if kind is not None:
                message = budget.describe(kind, self.cost_usd, self.tokens)
                raise LimitReached(kind, message, budget.scope)

    def cost_limit(self) -> LimitReached:
        """The spend cap that binds now (for an engine told by its model's CLI that the budget
        it was given is spent): the scope with the least left."""
        capped = [b for b in self.scopes() if b.usd_left(self.cost_usd) is not None]
        tightest = min(capped, key=lambda b: b.usd_left(self.cost_usd) or 0.0)
        return LimitReached(
            "cost", tightest.describe("cost", self.cost_usd, self.tokens), tightest.scope
        )

    def cost_left(self) -> float:
        """USD the session may still spend before the tightest cap."""
        left = [b.usd_left(self.cost_usd) for b in self.scopes()]
        return max(0.0, min(v for v in left if v is not None))

    def stalled(self) -> LimitReached | None:
        """A stall (no progress for `stall_s`), if there is one."""
        stall_s = self.limits.stall_s
        if stall_s is None or self.idle_s() < stall_s:
            return None
        return LimitReached(
            "stall", f"no model or tool progress for {stall_s:.0f} s (stalled; timed out)"
        )

    def idle_s(self) -> float:
        return self.clock() - self.last_progress

    def next_stall_check_s(self) -> float | None:
        """Seconds until a stall could first be declared (None: stalls are not watched)."""
        if self.limits.stall_s is None:
            return None
        return max(0.0, self.limits.stall_s - self.idle_s())

    def elapsed(self) -> float:
        return self.clock() - self.started

    def remaining_s(self) -> float:
        return max(0.0, self.limits.timeout_s - self.elapsed())

    def usage(self) -> Usage:
        return Usage(
            turns=self.turns,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost_usd=round(self.cost_usd, 6),
        )

    def _usage_changed(self) -> None:
        self.on_usage(self.usage())
