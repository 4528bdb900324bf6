"""The live spend line a running session's check run shows, and the final one."""

from __future__ import annotations

from collections.abc import Sequence

from runner.spend import ScopeBudget
from runner.task import Usage


def spend_line(usage: Usage, scopes: Sequence[ScopeBudget] = ()) -> str:
    """E.g. "Spent so far: $0.0123 · 1,234 tokens · 3 turns — left: $4.99 per session, $0.40
    per issue" (what each capped scope still allows, earlier sessions counted)."""
    tokens = usage.input_tokens + usage.output_tokens
    line = f"Spent so far: ${usage.cost_usd:.4f} · {tokens:,} tokens · {usage.turns} turns"
    left: list[str] = []
    for budget in scopes:
        usd = budget.usd_left(usage.cost_usd)
        if usd is not None:
            left.append(f"${max(usd, 0.0):.2f} {budget.scope.label}")
        remaining_tokens = budget.tokens_left(tokens)
        if remaining_tokens is not None:
            left.append(f"{max(remaining_tokens, 0):,} tokens {budget.scope.label}")
    return line + (f" — left: {', '.join(left)}" if left else "")
