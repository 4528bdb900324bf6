"""The spec's features as the mirror knows them, which comes next, and the progress text: pure
functions over plain data (the mirror's rows are read into `MirrorIssue`s by the caller).

The choice is `runner.features.queue.choose_next`'s (open, not passing, every blocker passing
or closed; highest priority, then lowest number), less the features this run of the sequence
has already tried: a feature is never done twice, and a failure moves on to the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from runner.features.model import FEATURE_LABEL, PASSING_LABEL, Feature
from runner.features.queue import blocked, choose_next, stats
from runner.features.store import feature_from_issue
from runner.github.issue_graph import GraphIssue

PROGRESS_MARKER = "<!-- autocoder:progress -->"


@dataclass(frozen=True)
class MirrorIssue:
    number: int
    title: str
    body: str
    labels: tuple[str, ...]
    state: str
    html_url: str = ""

    def graph(self) -> GraphIssue:
        return GraphIssue(
            self.number, 0, self.title, self.body, self.state, None, self.labels, self.html_url
        )

    @property
    def done(self) -> bool:
        return self.state == "closed" or PASSING_LABEL in self.labels


@dataclass(frozen=True)
class Relation:
    kind: str  # "sub_issue" | "blocked_by"
    number: int
    other: int


def spec_features(
    spec: int, issues: Mapping[int, MirrorIssue], relations: Iterable[Relation]
) -> list[Feature]:
    """The feature issues under the spec issue, each with its blockers."""
    relations = list(relations)
    children = sorted(r.number for r in relations if r.kind == "sub_issue" and r.other == spec)
    features = []
    for number in children:
        issue = issues.get(number)
        if issue is None or FEATURE_LABEL not in issue.labels:
            continue
        blockers = [
            issues.get(r.other) or MirrorIssue(r.other, "", "", (), "open")
            for r in relations
            if r.kind == "blocked_by" and r.number == number
        ]
        feature = feature_from_issue(issue.graph(), [b.graph() for b in blockers])
        features.append(feature)
    return features


def next_feature(features: Sequence[Feature], attempted: Iterable[int]) -> Feature | None:
    tried = set(attempted)
    return choose_next([f for f in features if f.number not in tried])


def all_passing(features: Sequence[Feature]) -> bool:
    live = [f for f in features if f.open or f.passing]
    return bool(live) and all(f.passing or not f.open for f in live)


@dataclass(frozen=True)
class ProgressView:
    state: str  # ready | running | waiting | paused | finished | stopped
    running: int | None
    note: str | None
    attempted: tuple[int, ...]


def render_progress(features: Sequence[Feature], view: ProgressView) -> str:
    """The spec issue's progress comment (found again by its marker)."""
    counts = stats(features)
    by_number = {f.number: f for f in features}

    def name(number: int) -> str:
        feature = by_number.get(number)
        title = " ".join(feature.title.split()).replace("|", "\\|") if feature else ""
        return f"#{number} {title}" if feature else f"#{number}"

    lines = [
        PROGRESS_MARKER,
        f"### autocoder progress: {counts.passing}/{counts.total} features passing "
        f"({counts.percentage:g}%)",
        "",
        f"- Sequence: {view.state}" + (f" — {view.note}" if view.note else ""),
        f"- Running now: {name(view.running) if view.running else 'none'}",
    ]
    upcoming = next_feature(features, (*view.attempted, *([view.running] if view.running else [])))
    if view.state in ("running", "paused", "ready", "waiting"):
        lines.append(f"- Next: {name(upcoming.number) if upcoming else 'none ready'}")
    waiting = blocked(features)
    if waiting:
        lines.append("- Blocked:")
        for feature in waiting:
            by = ", ".join(f"#{b.number}" for b in feature.blockers if not b.done)
            lines.append(f"  - {name(feature.number)} (by {by})")
    lines += ["", "| Feature | Priority | Status |", "| --- | --- | --- |"]
    for feature in sorted(features, key=lambda f: (f.priority, f.number)):
        status = (
            "✅ passing"
            if feature.passing
            else "closed"
            if not feature.open
            else "🏃 running"
            if feature.number == view.running
            else "⏳ blocked"
            if not feature.ready
            else "tried, not passing"
            if feature.number in view.attempted
            else "to do"
        )
        lines.append(f"| {name(feature.number)} | {feature.priority} | {status} |")
    return "\n".join(lines) + "\n"
