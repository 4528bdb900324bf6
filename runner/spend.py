"""Spend caps: what a session may still spend, per scope, and the words that name a cap.

A session is capped in USD and in tokens (input + output) at four scopes: the session itself,
the issue (across all its sessions), the repository per UTC day and the installation per UTC
calendar month. The operator sets each cap (`AUTOCODER_MAX_COST_USD` and friends); a
repository's `.github/autocoder.yml` may lower them, never raise them (`lower`).

The App's worker knows what earlier sessions spent (its database, `app.spend`); it puts one
`ScopeBudget` per capped scope in the work order, and the session's `LimitGuard` ends the
session when its own spend plus what was spent before reaches a cap. Plain data, no I/O.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field


class CapScope(enum.StrEnum):
    SESSION = "session"
    ISSUE = "issue"
    REPOSITORY_DAY = "repository_day"
    INSTALLATION_MONTH = "installation_month"

    @property
    def label(self) -> str:
        """How a check run names the cap."""
        return _LABELS[self]


_LABELS = {
    CapScope.SESSION: "per session",
    CapScope.ISSUE: "per issue",
    CapScope.REPOSITORY_DAY: "per repository per day",
    CapScope.INSTALLATION_MONTH: "per installation per month",
}


class Cap(BaseModel):
    """A cap in USD and/or tokens (None: no cap of that kind)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    usd: float | None = Field(default=None, gt=0)
    tokens: int | None = Field(default=None, gt=0)

    @property
    def empty(self) -> bool:
        return self.usd is None and self.tokens is None


def _least(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def lower(operator: Cap, repository: Cap | None) -> Cap:
    """The operator's cap, lowered (never raised) by the repository's."""
    if repository is None:
        return operator
    tokens = _least(operator.tokens, repository.tokens)
    return Cap(
        usd=_least(operator.usd, repository.usd),
        tokens=int(tokens) if tokens is not None else None,
    )


class ScopeBudget(BaseModel):
    """One capped scope: its cap and what earlier sessions already spent in it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: CapScope
    cap: Cap
    spent_usd: float = Field(default=0.0, ge=0)
    spent_tokens: int = Field(default=0, ge=0)

    def with_cap(self, cap: Cap) -> ScopeBudget:
        return self.model_copy(update={"cap": cap})

    def usd_left(self, session_usd: float = 0.0) -> float | None:
        if self.cap.usd is None:
            return None
        return self.cap.usd - self.spent_usd - session_usd

    def tokens_left(self, session_tokens: int = 0) -> int | None:
        if self.cap.tokens is None:
            return None
        return self.cap.tokens - self.spent_tokens - session_tokens

    def reached(self, session_usd: float = 0.0, session_tokens: int = 0) -> str | None:
        """Which cap of this scope is reached, as "cost" or "tokens" (None: neither)."""
        usd_left = self.usd_left(session_usd)
        if usd_left is not None and usd_left <= 1e-9:
            return "cost"
        tokens_left = self.tokens_left(session_tokens)
        if tokens_left is not None and tokens_left <= 0:
            return "tokens"
        return None

    def describe(self, kind: str, session_usd: float = 0.0, session_tokens: int = 0) -> str:
        """The sentence a check run shows when this scope's cap of `kind` ends a session."""
        earlier = "" if self.scope is CapScope.SESSION else " (earlier sessions included)"
        if kind == "tokens":
            total = self.spent_tokens + session_tokens
            return (
                f"token cap {self.scope.label} reached: {total:,} of {self.cap.tokens or 0:,} "
                f"tokens{earlier}"
            )
        total_usd = self.spent_usd + session_usd
        return (
            f"spend cap {self.scope.label} reached: ${total_usd:.2f} of "
            f"${self.cap.usd or 0.0:.2f}{earlier}"
        )


def first_exhausted(budgets: tuple[ScopeBudget, ...]) -> tuple[ScopeBudget, str] | None:
    """The first scope whose cap earlier sessions have used up, and which cap ("cost" or
    "tokens"); None when every scope has something left."""
    for budget in budgets:
        kind = budget.reached()
        if kind is not None:
            return budget, kind
    return None
