"""The answer the policy gives: allowed or refused, and why."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Verdict"]


@dataclass(frozen=True)
class Verdict:
    """Whether a command or path is allowed.

    For a refusal, `reason` says what was refused and why, written for the model to read and act
    on; for an allow it is short.
    """

    allowed: bool
    reason: str

    @classmethod
    def allow(cls, reason: str = "allowed") -> Verdict:
        return cls(True, reason)

    @classmethod
    def refuse(cls, reason: str) -> Verdict:
        return cls(False, reason)
