"""A feature issue's body: written from a `FeatureSpec`, read back into its parts. Pure.

The body people see on GitHub::

    <description>

    ## Test steps

    - [ ] 1. Open the app
    - [x] 2. Click "New"

    **Category:** functional · **Priority:** 2

    <!-- autocoder:feature id=3f9a0c1b2d4e -->

Steps are a task list, so GitHub shows progress and people can tick or edit them; category and
priority can be edited by hand and are read back. The hidden marker's `id` is derived from the
title, so running the initializer again finds the issue it made before instead of a duplicate.
The agent's text can never forge the marker or the metadata lines: `<!--` in it is escaped.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from runner.features.model import DEFAULT_CATEGORY, FeatureSpec, Step

STEPS_HEADING = "## Test steps"
_MARKER = re.compile(r"<!--\s*autocoder:feature\s+id=([0-9a-z-]{1,64})\s*-->")
_STEP = re.compile(r"^\s*[-*]\s+\[( |x|X)\]\s+(?:\d+[.)]\s+)?(.*\S)\s*$")
_META = re.compile(
    r"^\*\*Category:\*\*\s*(?P<category>[^·\n]*?)\s*·\s*\*\*Priority:\*\*\s*(?P<priority>-?\d+)\s*$"
)


@dataclass(frozen=True)
class ParsedBody:
    key: str | None  # None: not a body this module wrote (no marker)
    description: str
    steps: tuple[Step, ...]
    category: str
    priority: int


def feature_key(title: str) -> str:
    """A stable id for a feature from its title (case, spacing and accents ignored)."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    normal = " ".join(folded.split())
    return hashlib.sha256(normal.encode()).hexdigest()[:12]


def _defuse(text: str) -> str:
    """The agent's text, unable to open an HTML comment (a forged marker) or hide text."""
    return text.replace("<!--", "&lt;!--").replace("-->", "--&gt;")


def _one_line(text: str) -> str:
    return " ".join(_defuse(text).split())


def render_body(spec: FeatureSpec, key: str, done: tuple[bool, ...] = ()) -> str:
    """The issue body for `spec`; `done[i]` ticks step i (missing entries are unticked)."""
    parts = [_defuse(spec.description.strip()) or "_No description._", "", STEPS_HEADING, ""]
    if spec.steps:
        for index, step in enumerate(spec.steps):
            tick = "x" if index < len(done) and done[index] else " "
            parts.append(f"- [{tick}] {index + 1}. {_one_line(step)}")
    else:
        parts.append("_No test steps yet._")
    category = _one_line(spec.category).replace("·", "-") or DEFAULT_CATEGORY
    parts += ["", f"**Category:** {category} · **Priority:** {spec.priority}", ""]
    parts.append(f"<!-- autocoder:feature id={key} -->")
    return "\n".join(parts) + "\n"


def parse_body(body: str) -> ParsedBody:
    """The parts of a feature body. A body edited by hand still parses: a missing heading
    means no steps, a missing metadata line the defaults (category functional, priority 1)."""
    markers = _MARKER.findall(body)
    key = markers[-1] if markers else None
    text = _MARKER.sub("", body)
    category, priority = DEFAULT_CATEGORY, 1
    kept: list[str] = []
    for line in text.splitlines():
        meta = _META.match(line.strip())
        if meta:
            category = meta["category"].strip() or DEFAULT_CATEGORY
            priority = int(meta["priority"])
        else:
            kept.append(line)
    text = "\n".join(kept)
    head, found, tail = text.rpartition(STEPS_HEADING)
    if not found:
        head, tail = text, ""
    steps = []
    for line in tail.splitlines():
        match = _STEP.match(line)
        if match:
            steps.append(Step(text=match[2], done=match[1] in "xX"))
    description = head.strip()
    if description == "_No description._":
        description = ""
    return ParsedBody(key, description, tuple(steps), category, priority)


def tick_all_steps(body: str) -> str:
    """The body with every test step ticked (a passing feature)."""
    parsed = parse_body(body)
    if parsed.key is None:
        return body
    spec = FeatureSpec(
        title="",
        description=parsed.description,
        steps=tuple(step.text for step in parsed.steps),
        category=parsed.category,
        priority=parsed.priority,
    )
    return render_body(spec, parsed.key, done=tuple(True for _ in parsed.steps))
