"""What a feature is: plain data, no I/O.

A feature IS a GitHub issue labelled `autocoder:feature`. `FeatureSpec` is what the agent asks
for (one entry of `feature_create_bulk`); `Feature` is a feature issue as read back from GitHub,
with its blockers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FEATURE_LABEL = "autocoder:feature"
PASSING_LABEL = "autocoder:passing"
DEFAULT_CATEGORY = "functional"


class FeatureError(Exception):
    """A request the feature tools cannot carry out; the message tells the agent what to fix."""


@dataclass(frozen=True)
class FeatureSpec:
    title: str
    description: str = ""
    steps: tuple[str, ...] = ()
    category: str = DEFAULT_CATEGORY
    priority: int = 1  # 1 = highest
    # 0-based indexes into the same bulk request (int) or existing issue numbers ("#N" → str)
    depends_on: tuple[int | str, ...] = ()


@dataclass(frozen=True)
class Step:
    text: str
    done: bool = False


@dataclass(frozen=True)
class Blocker:
    number: int
    done: bool  # closed, or labelled passing


@dataclass(frozen=True)
class Feature:
    number: int
    id: int  # the id (GitHub's relations name issues by id)
    key: str  # the hidden marker's id: finds the feature again when the initializer reruns
    title: str
    description: str
    steps: tuple[Step, ...]
    category: str
    priority: int
    state: str  # "open" | "closed"
    passing: bool
    html_url: str = ""
    blockers: tuple[Blocker, ...] = field(default=())

    @property
    def open(self) -> bool:
        return self.state == "open"

    @property
    def ready(self) -> bool:
        """Every blocker is passing or closed."""
        return all(blocker.done for blocker in self.blockers)

    def as_spec(self) -> FeatureSpec:
        return FeatureSpec(
            title=self.title,
            description=self.description,
            steps=tuple(step.text for step in self.steps),
            category=self.category,
            priority=self.priority,
            depends_on=tuple(f"#{b.number}" for b in self.blockers),
        )
