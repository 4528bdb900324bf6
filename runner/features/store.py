"""Features on GitHub: read feature issues with their blockers, and write every change through
(issue, labels, body, sub-issue link to the spec issue, blocked-by relations).

The decisions are `runner.features.queue`'s and the body's format `runner.features.body`'s;
this module only moves data between them and `runner.github.issue_graph.IssueGraph`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from runner.features.body import feature_key, parse_body, render_body, tick_all_steps
from runner.features.model import (
    FEATURE_LABEL,
    PASSING_LABEL,
    Blocker,
    Feature,
    FeatureError,
    FeatureSpec,
)
from runner.features.queue import check_dependencies, resolve_dependencies, skip_priority
from runner.github.errors import GitHubError
from runner.github.issue_graph import GraphIssue, IssueGraph, IssueGraphError


def feature_from_issue(issue: GraphIssue, blockers: Sequence[GraphIssue] = ()) -> Feature:
    parsed = parse_body(issue.body)
    return Feature(
        number=issue.number,
        id=issue.id,
        key=parsed.key or feature_key(issue.title),
        title=issue.title,
        description=parsed.description,
        steps=parsed.steps,
        category=parsed.category,
        priority=parsed.priority,
        state=issue.state,
        passing=issue.has_label(PASSING_LABEL),
        html_url=issue.html_url,
        blockers=tuple(Blocker(b.number, _done(b)) for b in blockers),
    )


def _done(issue: GraphIssue) -> bool:
    return issue.state == "closed" or issue.has_label(PASSING_LABEL)


def _deleted(issue: GraphIssue) -> bool:
    return issue.state == "closed" and issue.state_reason == "not_planned"


@dataclass(frozen=True)
class Created:
    feature: Feature
    created: bool  # False: the issue existed already (same marker), nothing was duplicated


class FeatureStore:
    """The features of one repository; `spec_issue` (if any) is the parent of new features."""

    def __init__(self, graph: IssueGraph, *, spec_issue: int | None = None) -> None:
        self.graph = graph
        self.spec_issue = spec_issue

    # -- reading --------------------------------------------------------------------------------

    def _feature_issues(self) -> list[GraphIssue]:
        return [i for i in self.graph.list_labelled(FEATURE_LABEL) if not _deleted(i)]

    def load(self) -> list[Feature]:
        """Every feature (not deleted), with the blockers of those still to do."""
        features = []
        for issue in self._feature_issues():
            pending = issue.state == "open" and not issue.has_label(PASSING_LABEL)
            blockers = self.graph.blocked_by(issue.number) if pending else []
            features.append(feature_from_issue(issue, blockers))
        return features

    def get(self, number: int) -> Feature:
        issue = self.graph.get(number)
        if not issue.has_label(FEATURE_LABEL):
            raise FeatureError(f"#{number} is not a feature (no {FEATURE_LABEL} label)")
        return feature_from_issue(issue, self.graph.blocked_by(number))

    # -- writing --------------------------------------------------------------------------------

    def create_bulk(self, specs: Sequence[FeatureSpec]) -> list[Created]:
        """Create the features (or find them: same title, same marker), link each under the spec
        issue and add its blocked-by relations. Nothing is written if a dependency is wrong."""
        for index, spec in enumerate(specs):
            if not spec.title.strip():
                raise FeatureError(f"features[{index}].title is empty")
        by_key = {feature_key(i.title): i for i in self._feature_issues()}
        for issue in by_key.values():
            key = parse_body(issue.body).key
            if key is not None:
                by_key.setdefault(key, issue)
        wanted = {
            int(e[1:])
            for s in specs
            for e in s.depends_on
            if isinstance(e, str) and e.strip()[1:].isdigit()
        }
        existing: dict[int, GraphIssue] = {i.number: i for i in by_key.values()}
        for number in sorted(wanted - set(existing)):
            existing[number] = self._existing_issue(number)
        check_dependencies(specs, existing)

        results: list[Created] = []
        issues: list[GraphIssue] = []
        for spec in specs:
            key = feature_key(spec.title)
            found = by_key.get(key)
            if found is None:
                body = render_body(spec, key)
                found = self.graph.create(spec.title.strip(), body, [FEATURE_LABEL])
                by_key[key] = found
                results.append(Created(feature_from_issue(found), True))
            else:
                results.append(Created(feature_from_issue(found), False))
            issues.append(found)
            existing[found.number] = found
        self._link_to_spec(issues)
        dependencies = resolve_dependencies(specs, [i.number for i in issues], existing)
        for issue, numbers in zip(issues, dependencies, strict=True):
            self._set_blockers(issue, [existing[n] for n in numbers], remove_others=False)
        return [
            replace(result, feature=feature_from_issue(issue, [existing[n] for n in numbers]))
            for result, issue, numbers in zip(results, issues, dependencies, strict=True)
        ]

    def update(self, number: int, changes: FeatureSpec, fields: set[str]) -> Feature:
        """Change the named `fields` of the feature to those of `changes` (the others stay)."""
        current = self.get(number)
        merged = current.as_spec()
        values = {name: getattr(changes, name) for name in fields}
        merged = replace(merged, **values)
        blockers: list[GraphIssue] | None = None
        if "depends_on" in fields:
            existing = {
                int(e.strip()[1:]): self._existing_issue(int(e.strip()[1:]))
                for e in merged.depends_on
                if isinstance(e, str) and e.strip()[1:].isdigit()
            }
            if any(isinstance(e, int) and not isinstance(e, bool) for e in merged.depends_on):
                raise FeatureError("feature_update: depends_on takes existing issues as '#N'")
            numbers = resolve_dependencies([merged], [number], existing)[0]
            if number in numbers:
                raise FeatureError("feature_update: a feature cannot depend on itself")
            blockers = [existing[n] for n in numbers]
        done = tuple(step.done for step in current.steps) if "steps" not in fields else ()
        body = render_body(merged, current.key, done)
        patch: dict[str, str] = {"body": body}
        if "title" in fields:
            if not merged.title.strip():
                raise FeatureError("feature_update: title is empty")
            patch["title"] = merged.title.strip()
        issue = self.graph.update(number, **patch)
        if blockers is not None:
            self._set_blockers(issue, blockers, remove_others=True)
        return self.get(number)

    def delete(self, number: int) -> Feature:
        """Close the feature as not planned (it leaves the queue and the counts)."""
        self.get(number)
        issue = self.graph.update(number, state="closed", state_reason="not_planned")
        return feature_from_issue(issue)

    def skip(self, number: int) -> Feature:
        """Move the feature to the end of the queue (its priority goes below all others)."""
        features = self.load()
        current = next((f for f in features if f.number == number), None)
        if current is None:
            current = self.get(number)
        if not current.open or current.passing:
            raise FeatureError(f"#{number} is not waiting in the queue (closed or passing)")
        priority = skip_priority(features, current)
        return self.update(number, replace(current.as_spec(), priority=priority), {"priority"})

    def mark_passing(self, number: int) -> Feature:
        """Label the feature passing and tick its test steps (the session end does this, once
        `queue.judge_passing` accepts the agent's claim)."""
        issue = self.graph.get(number)
        if not issue.has_label(FEATURE_LABEL):
            raise FeatureError(f"#{number} is not a feature (no {FEATURE_LABEL} label)")
        ticked = tick_all_steps(issue.body)
        if ticked != issue.body:
            self.graph.update(number, body=ticked)
        if not issue.has_label(PASSING_LABEL):
            self.graph.add_labels(number, [PASSING_LABEL])
        return self.get(number)

    # -- relations ------------------------------------------------------------------------------

    def _existing_issue(self, number: int) -> GraphIssue:
        try:
            return self.graph.get(number)
        except (GitHubError, IssueGraphError) as exc:
            raise FeatureError(f"#{number} could not be read: {exc}") from exc

    def _link_to_spec(self, issues: Sequence[GraphIssue]) -> None:
        if self.spec_issue is None:
            return
        linked = {i.number for i in self.graph.sub_issues(self.spec_issue)}
        for issue in issues:
            if issue.number not in linked and issue.number != self.spec_issue:
                self.graph.add_sub_issue(self.spec_issue, issue)
                linked.add(issue.number)

    def _set_blockers(
        self, issue: GraphIssue, blockers: Sequence[GraphIssue], *, remove_others: bool
    ) -> None:
        current = {b.number: b for b in self.graph.blocked_by(issue.number)}
        for blocker in blockers:
            if blocker.number not in current:
                self.graph.add_blocked_by(issue.number, blocker)
        if remove_others:
            wanted = {b.number for b in blockers}
            for number, blocker in current.items():
                if number not in wanted:
                    self.graph.remove_blocked_by(issue.number, blocker)
