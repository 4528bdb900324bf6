"""Turn, spend and wall-time limits, enforced in one place for every engine.

Engines call `LimitGuard.record_turn` after each model turn; the guard raises `LimitReached` the
moment a cap is passed. Wall time is checked here too, and the orchestrator also wraps the whole
engine run in a timeout, so an engine stuck inside one request still stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from runner.task import Limits, Usage


class LimitReached(Exception):
    """A session cap was reached. `kind` is "turns", "cost" or "time"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class LimitGuard:
    limits: Limits
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.started = self.clock()
        self.turns = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0

    def record_turn(
        self, *, input_tokens: int = 0, output_tokens: int = 0, cost_usd: float = 0.0
    ) -> None:
        self.turns += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost_usd += cost_usd
        self.check()

    def set_cost(self, cost_usd: float) -> None:
        """For engines that report a running total rather than per-turn cost."""
        self.cost_usd = max(self.cost_usd, cost_usd)

    def check(self) -> None:
        if self.turns >= self.limits.max_turns:
            raise LimitReached("turns", f"turn limit reached ({self.limits.max_turns} turns)")
        if self.cost_usd >= self.limits.max_cost_usd:
            raise LimitReached(
                "cost",
                f"spend limit reached (${self.cost_usd:.2f} of ${self.limits.max_cost_usd:.2f})",
            )
        if self.elapsed() >= self.limits.timeout_s:
            raise LimitReached("time", f"wall-time limit reached ({self.limits.timeout_s:.0f} s)")

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
