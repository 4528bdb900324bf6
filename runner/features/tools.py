"""The feature tools the agent calls, as `ToolSpec`s (name, JSON schema, handler) that both
engines offer: the OpenAI-compatible engine as functions of these exact names, the Claude
engine through an in-process MCP server (`runner.features.mcp`).

Every handler answers JSON text. Mistakes (a missing feature, a bad `depends_on`, GitHub
refusing) come back as a `ToolError` whose message the agent reads. `feature_mark_passing`
does not label anything itself: it records the claim, and the session end applies it through
`apply_passing` only if `queue.judge_passing` accepts it (the runner's checks ran and passed).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.features.model import DEFAULT_CATEGORY, Feature, FeatureError, FeatureSpec
from runner.features.queue import (
    PassingVerdict,
    SessionChecks,
    choose_next,
    for_regression,
    judge_passing,
    stats,
)
from runner.features.store import FeatureStore
from runner.github.errors import GitHubError
from runner.github.issue_graph import IssueGraphError
from runner.tools.registry import ToolSpec
from runner.tools.result import ToolError

TOOL_NAMES: tuple[str, ...] = (
    "feature_get_stats",
    "feature_get_next",
    "feature_get_for_regression",
    "feature_mark_passing",
    "feature_skip",
    "feature_create_bulk",
    "feature_create",
    "feature_update",
    "feature_delete",
)
DEFAULT_REGRESSION_LIMIT = 3
MAX_REGRESSION_LIMIT = 10
SPEC_FIELDS = ("title", "description", "steps", "category", "priority", "depends_on")

_NUMBER = {"type": "integer", "description": "the feature's issue number"}
_FEATURE_PROPERTIES: dict[str, Any] = {
    "title": {"type": "string", "description": "short name of the feature"},
    "description": {"type": "string", "description": "what the feature does"},
    "steps": {
        "type": "array",
        "items": {"type": "string"},
        "description": "numbered test steps that prove the feature works, in order",
    },
    "category": {"type": "string", "description": "e.g. functional, style"},
    "priority": {"type": "integer", "description": "1 = highest"},
    "depends_on": {
        "type": "array",
        "items": {"type": ["integer", "string"]},
        "description": (
            "features this one needs first: 0-based indexes into the same list, or existing "
            'issue numbers as "#N"'
        ),
    },
}
_FEATURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": _FEATURE_PROPERTIES,
    "required": ["title", "description", "steps"],
    "additionalProperties": False,
}


def feature_json(feature: Feature) -> dict[str, Any]:
    """What the agent sees of a feature."""
    return {
        "number": feature.number,
        "title": feature.title,
        "description": feature.description,
        "steps": [step.text for step in feature.steps],
        "category": feature.category,
        "priority": feature.priority,
        "state": feature.state,
        "passing": feature.passing,
        "blocked_by": [b.number for b in feature.blockers if not b.done],
        "url": feature.html_url,
    }


def spec_from_arguments(arguments: Mapping[str, Any], where: str) -> FeatureSpec:
    """A `FeatureSpec` from one tool-call object, or a `FeatureError` naming the bad field."""
    title = arguments.get("title")
    if not isinstance(title, str) or not title.strip():
        raise FeatureError(f"{where}.title must be a non-empty string")
    description = arguments.get("description", "")
    if not isinstance(description, str):
        raise FeatureError(f"{where}.description must be a string")
    steps = arguments.get("steps", [])
    if not isinstance(steps, list) or not all(isinstance(s, str) and s.strip() for s in steps):
        raise FeatureError(f"{where}.steps must be a list of non-empty strings")
    category = arguments.get("category", DEFAULT_CATEGORY)
    if not isinstance(category, str):
        raise FeatureError(f"{where}.category must be a string")
    priority = arguments.get("priority", 1)
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 1:
        raise FeatureError(f"{where}.priority must be an integer, 1 or more (1 = highest)")
    depends_on = arguments.get("depends_on", [])
    if not isinstance(depends_on, list) or not all(
        isinstance(d, (int, str)) and not isinstance(d, bool) for d in depends_on
    ):
        raise FeatureError(f'{where}.depends_on must be a list of indexes or "#N" strings')
    unknown = sorted(set(arguments) - set(SPEC_FIELDS) - {"number"})
    if unknown:
        raise FeatureError(f"{where}: unknown field(s) {', '.join(unknown)}")
    return FeatureSpec(
        title=title.strip(),
        description=description,
        steps=tuple(s.strip() for s in steps),
        category=category.strip() or DEFAULT_CATEGORY,
        priority=priority,
        depends_on=tuple(depends_on),
    )


@dataclass
class FeatureTools:
    """The tools of one session. `own` is the session's feature (the default `number`)."""

    store: FeatureStore
    own: int | None = None
    rng: random.Random = field(default_factory=random.Random)
    passing_requested: list[int] = field(default_factory=list)

    # -- the handlers ---------------------------------------------------------------------------

    def get_stats(self) -> dict[str, Any]:
        return stats(self.store.load()).as_json()

    def get_next(self) -> dict[str, Any]:
        if self.own is not None:
            return {"feature": feature_json(self.store.get(self.own)), "own": True}
        found = choose_next(self.store.load())
        if found is None:
            return {"feature": None, "message": "no feature is ready: all pass or are blocked"}
        return {"feature": feature_json(found), "own": False}

    def get_for_regression(self, limit: int = DEFAULT_REGRESSION_LIMIT) -> dict[str, Any]:
        if limit < 1 or limit > MAX_REGRESSION_LIMIT:
            raise FeatureError(f"limit must be between 1 and {MAX_REGRESSION_LIMIT}")
        picked = for_regression(self.store.load(), limit, self.rng, exclude=self.own)
        return {"features": [feature_json(f) for f in picked]}

    def mark_passing(self, number: int | None = None) -> dict[str, Any]:
        target = self._number(number)
        feature = self.store.get(target)
        if not feature.open:
            raise FeatureError(f"#{target} is closed; only an open feature can be marked passing")
        if target not in self.passing_requested:
            self.passing_requested.append(target)
        return {
            "number": target,
            "recorded": True,
            "message": (
                "recorded: the runner labels the feature passing at the end of this session "
                "if its checks (the test steps and the repository's test command) pass"
            ),
        }

    def skip(self, number: int | None = None) -> dict[str, Any]:
        feature = self.store.skip(self._number(number))
        return {"feature": feature_json(feature), "message": "moved to the end of the queue"}

    def create_bulk(self, features: list[Any]) -> dict[str, Any]:
        if not features:
            raise FeatureError("features is empty: give at least one feature")
        specs = []
        for index, entry in enumerate(features):
            if not isinstance(entry, dict):
                raise FeatureError(f"features[{index}] must be an object")
            specs.append(spec_from_arguments(entry, f"features[{index}]"))
        results = self.store.create_bulk(specs)
        return {
            "created": sum(1 for r in results if r.created),
            "existing": sum(1 for r in results if not r.created),
            "features": [{**feature_json(r.feature), "created": r.created} for r in results],
        }

    def create(self, **arguments: Any) -> dict[str, Any]:
        result = self.store.create_bulk([spec_from_arguments(arguments, "feature")])[0]
        return {"feature": feature_json(result.feature), "created": result.created}

    def update(self, number: int, **arguments: Any) -> dict[str, Any]:
        fields = set(arguments)
        if not fields:
            raise FeatureError(f"nothing to change: give one of {', '.join(SPEC_FIELDS)}")
        current = self.store.get(number)
        merged = {**_spec_arguments(current), **arguments}
        spec = spec_from_arguments(merged, "feature_update")
        return {"feature": feature_json(self.store.update(number, spec, fields))}

    def delete(self, number: int) -> dict[str, Any]:
        feature = self.store.delete(number)
        return {
            "number": feature.number,
            "state": feature.state,
            "message": "closed as not planned",
        }

    def _number(self, number: int | None) -> int:
        if number is not None:
            return number
        if self.own is None:
            raise FeatureError("give the feature's number: this session has no feature of its own")
        return self.own

    # -- as tools -------------------------------------------------------------------------------

    def specs(self) -> list[ToolSpec]:
        """The nine tools, with exactly the names of `TOOL_NAMES`."""
        empty: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
        maybe_number: dict[str, Any] = {
            "type": "object",
            "properties": {"number": _NUMBER},
            "additionalProperties": False,
        }
        own = "; number defaults to this session's feature" if self.own is not None else ""
        return [
            self._spec(
                "feature_get_stats",
                "Counts of the features: passing, total, percentage, open, ready, blocked.",
                empty,
                self.get_stats,
            ),
            self._spec(
                "feature_get_next",
                "The feature to work on, with its test steps"
                + (
                    " (this session's own feature)."
                    if self.own is not None
                    else ": the open, "
                    "not passing feature of highest priority whose blockers all pass."
                ),
                empty,
                self.get_next,
            ),
            self._spec(
                "feature_get_for_regression",
                "A few passing features, picked at random, to re-test for regressions.",
                {
                    "type": "object",
                    "properties": {
                        "limit": {"type": "integer", "description": "how many (default 3)"}
                    },
                    "additionalProperties": False,
                },
                self.get_for_regression,
            ),
            self._spec(
                "feature_mark_passing",
                "Claim that the feature works: every test step passes. Accepted at the end of "
                "the session only if the runner's checks pass" + own + ".",
                maybe_number,
                self.mark_passing,
            ),
            self._spec(
                "feature_skip",
                "Move a feature to the end of the queue (for example when it cannot be done "
                "yet)" + own + ".",
                maybe_number,
                self.skip,
            ),
            self._spec(
                "feature_create_bulk",
                "Create features as GitHub issues (each with its test steps, category and "
                "priority, linked under the spec issue, with its dependencies as blocked-by). "
                "A feature whose title exists already is not created again.",
                {
                    "type": "object",
                    "properties": {"features": {"type": "array", "items": _FEATURE_SCHEMA}},
                    "required": ["features"],
                    "additionalProperties": False,
                },
                self.create_bulk,
            ),
            self._spec(
                "feature_create",
                "Create one feature (same fields as one entry of feature_create_bulk; "
                'depends_on names existing issues as "#N").',
                _FEATURE_SCHEMA,
                self.create,
            ),
            self._spec(
                "feature_update",
                "Change fields of a feature: title, description, steps, category, priority, "
                'depends_on (existing issues as "#N"; replaces the list).',
                {
                    "type": "object",
                    "properties": {"number": _NUMBER, **_FEATURE_PROPERTIES},
                    "required": ["number"],
                    "additionalProperties": False,
                },
                self.update,
            ),
            self._spec(
                "feature_delete",
                "Remove a feature: its issue is closed as not planned.",
                {
                    "type": "object",
                    "properties": {"number": _NUMBER},
                    "required": ["number"],
                    "additionalProperties": False,
                },
                self.delete,
            ),
        ]

    def _spec(
        self,
        name: str,
        description: str,
        parameters: dict[str, Any],
        run: Callable[..., dict[str, Any]],
    ) -> ToolSpec:
        def handler(**arguments: Any) -> str:
            try:
                return json.dumps(run(**arguments), ensure_ascii=False)
            except FeatureError as exc:
                raise ToolError(f"{name}: {exc}") from exc
            except (GitHubError, IssueGraphError) as exc:
                raise ToolError(f"{name}: GitHub refused or failed: {exc}") from exc

        return ToolSpec(name, description, parameters, handler, summary_argument="number")


def _spec_arguments(feature: Feature) -> dict[str, Any]:
    spec = feature.as_spec()
    return {
        "title": spec.title,
        "description": spec.description,
        "steps": list(spec.steps),
        "category": spec.category,
        "priority": spec.priority,
        "depends_on": list(spec.depends_on),
    }


def apply_passing(tools: FeatureTools, checks: SessionChecks | None) -> dict[int, PassingVerdict]:
    """At the session end: label passing (and tick the steps of) each feature the agent marked,
    when `judge_passing` accepts it; the verdicts say why not otherwise."""
    verdicts: dict[int, PassingVerdict] = {}
    for number in tools.passing_requested:
        verdict = judge_passing(True, checks)
        if verdict.accepted:
            tools.store.mark_passing(number)
        verdicts[number] = verdict
    return verdicts
