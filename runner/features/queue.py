"""Deciding over features: which comes next, which to re-test, the counts, where a skipped
one goes, what `depends_on` means, and when a claimed pass is accepted. Pure.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from runner.features.model import Feature, FeatureError, FeatureSpec


def queue_key(feature: Feature) -> tuple[int, int]:
    """Highest priority first (lowest number), then the lowest issue number."""
    return (feature.priority, feature.number)


def candidates(features: Sequence[Feature]) -> list[Feature]:
    """Open, not passing, every blocker passing or closed: in queue order."""
    ready = [f for f in features if f.open and not f.passing and f.ready]
    return sorted(ready, key=queue_key)


def choose_next(features: Sequence[Feature]) -> Feature | None:
    """The feature to work on next, or None when nothing is ready."""
    found = candidates(features)
    return found[0] if found else None


def blocked(features: Sequence[Feature]) -> list[Feature]:
    """Open, not passing features waiting on a blocker, in queue order."""
    waiting = [f for f in features if f.open and not f.passing and not f.ready]
    return sorted(waiting, key=queue_key)


def for_regression(
    features: Sequence[Feature], limit: int, rng: random.Random, *, exclude: int | None = None
) -> list[Feature]:
    """Up to `limit` passing features (not `exclude`) picked at random, as the seed does, so
    successive sessions re-test different ones; returned in queue order."""
    passing = [f for f in features if f.passing and f.number != exclude]
    picked = rng.sample(passing, min(max(limit, 0), len(passing)))
    return sorted(picked, key=queue_key)


def skip_priority(features: Sequence[Feature], skipped: Feature) -> int:
    """The priority that puts `skipped` after every other open, not passing feature."""
    others = [
        f.priority for f in features if f.open and not f.passing and f.number != skipped.number
    ]
    return max([skipped.priority - 1, *others]) + 1


@dataclass(frozen=True)
class Stats:
    passing: int
    total: int  # features not closed as not planned
    open: int
    ready: int
    blocked: int

    @property
    def percentage(self) -> float:
        return round(100.0 * self.passing / self.total, 1) if self.total else 0.0

    def as_json(self) -> dict[str, int | float]:
        return {
            "passing": self.passing,
            "total": self.total,
            "percentage": self.percentage,
            "open": self.open,
            "ready": self.ready,
            "blocked": self.blocked,
        }


def stats(features: Sequence[Feature]) -> Stats:
    return Stats(
        passing=sum(1 for f in features if f.passing),
        total=len(features),
        open=sum(1 for f in features if f.open and not f.passing),
        ready=len(candidates(features)),
        blocked=len(blocked(features)),
    )


def resolve_dependencies(
    specs: Sequence[FeatureSpec], numbers: Sequence[int], existing: Mapping[int, object]
) -> list[list[int]]:
    """Issue numbers each spec depends on. `numbers[i]` is the issue made for `specs[i]`;
    `depends_on` holds 0-based indexes into `specs` or "#N" naming an existing issue (one in
    `existing`). Raises `FeatureError` naming the first bad entry."""
    resolved: list[list[int]] = []
    for index, spec in enumerate(specs):
        found: list[int] = []
        for entry in spec.depends_on:
            number = _dependency(entry, index, len(specs), numbers, existing)
            if number not in found:
                found.append(number)
        resolved.append(found)
    return resolved


def check_dependencies(specs: Sequence[FeatureSpec], existing: Mapping[int, object]) -> None:
    """`resolve_dependencies`' refusals, before anything is written to GitHub."""
    resolve_dependencies(specs, [-(i + 1) for i in range(len(specs))], existing)


def _dependency(
    entry: int | str,
    index: int,
    count: int,
    numbers: Sequence[int],
    existing: Mapping[int, object],
) -> int:
    where = f"features[{index}].depends_on"
    if isinstance(entry, bool):
        raise FeatureError(f"{where}: {entry!r} is neither an index nor '#N'")
    if isinstance(entry, int):
        if not 0 <= entry < count:
            raise FeatureError(
                f"{where}: index {entry} is outside this list (0..{count - 1}); name an "
                "existing issue as '#N'"
            )
        if entry == index:
            raise FeatureError(f"{where}: a feature cannot depend on itself")
        return numbers[entry]
    text = entry.strip()
    if not text.startswith("#") or not text[1:].isdigit():
        raise FeatureError(f"{where}: {entry!r} is neither an index nor '#N'")
    number = int(text[1:])
    if number not in existing:
        raise FeatureError(f"{where}: #{number} is not an issue of this repository")
    return number


# -- "passing" ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionChecks:
    """What the runner (not the model) ran at the end of a session."""

    ran: bool  # the feature's test steps and the repository's test_command were run
    passed: bool
    regressions: tuple[int, ...] = ()  # passing features that now fail


@dataclass(frozen=True)
class PassingVerdict:
    accepted: bool
    reason: str


def judge_passing(requested: bool, checks: SessionChecks | None) -> PassingVerdict:
    """`feature_mark_passing` is accepted only at the end of a session whose checks ran and
    passed, with no regression; the reason says why not (for the check run)."""
    if not requested:
        return PassingVerdict(False, "the agent did not mark the feature passing")
    if checks is None or not checks.ran:
        return PassingVerdict(False, "the session's checks did not run")
    if checks.regressions:
        named = ", ".join(f"#{n}" for n in checks.regressions)
        return PassingVerdict(False, f"regression in {named}")
    if not checks.passed:
        return PassingVerdict(False, "the session's checks failed")
    return PassingVerdict(True, "the checks ran and passed")
