"""Which sessions get the feature tools: only a feature or spec task says so (`FeatureScope`);
an ordinary issue session gets none, so its engines offer exactly what they did before."""

from __future__ import annotations

import random
from dataclasses import dataclass

from runner.features.store import FeatureStore
from runner.features.tools import FeatureTools
from runner.github.issue_graph import IssueGraph, Rest


@dataclass(frozen=True)
class FeatureScope:
    """A feature/spec task: the spec issue new features go under, and the session's own
    feature (the default `number` of the tools; None for the initializer)."""

    spec_issue: int | None = None
    own_feature: int | None = None


def feature_tools_for(
    scope: FeatureScope | None, rest: Rest, repo: str, *, seed: str = ""
) -> FeatureTools | None:
    """The session's feature tools (their `specs()` go in `EngineRequest.extra_tools`), or
    None when the task is not a feature/spec task. `seed` (the session id) varies the
    regression picks between sessions."""
    if scope is None:
        return None
    store = FeatureStore(IssueGraph(rest, repo), spec_issue=scope.spec_issue)
    return FeatureTools(store, own=scope.own_feature, rng=random.Random(seed))  # noqa: S311 (test picks, no secret)
