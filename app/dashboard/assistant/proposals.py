"""Feature changes the assistant asks for, as proposals: nothing is written to GitHub until the
person confirms one in the page. Pure: which tools write, and each proposal told in words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The feature tools that change GitHub, each shown and confirmed before it runs.
WRITE_TOOLS: tuple[str, ...] = (
    "feature_create",
    "feature_update",
    "feature_skip",
    "feature_delete",
)
PENDING, CONFIRMED, REJECTED, FAILED = "pending", "confirmed", "rejected", "failed"


def _title(arguments: Mapping[str, Any]) -> str:
    return str(arguments.get("title") or "(untitled)")


def describe(tool: str, arguments: Mapping[str, Any]) -> str:
    """One sentence a person can say yes or no to."""
    number = arguments.get("number")
    if tool == "feature_create":
        steps = arguments.get("steps") or []
        extra = [f"priority {arguments['priority']}"] if "priority" in arguments else []
        extra.append(f"{len(steps)} test step{'s' if len(steps) != 1 else ''}")
        return f"Create the feature “{_title(arguments)}” ({', '.join(extra)})"
    if tool == "feature_update":
        changes = ", ".join(
            f"{key} → {value!r}" if key != "steps" else f"steps → {len(value)} steps"
            for key, value in arguments.items()
            if key != "number"
        )
        if set(arguments) - {"number"} == {"priority"}:
            return f"Reprioritise #{number}: priority {arguments['priority']}"
        return f"Change #{number}: {changes or 'nothing'}"
    if tool == "feature_skip":
        return f"Skip #{number}: move it to the end of the queue"
    if tool == "feature_delete":
        return f"Delete #{number}: close its issue as not planned"
    return f"{tool} {dict(arguments)!r}"


def waiting_note(proposal_id: int, text: str) -> str:
    """What the model is told instead of a result: the change waits for the person."""
    return (
        f"Not done yet: proposed as change {proposal_id} ({text}). The person sees it in the page "
        "and confirms or rejects it; tell them it waits for their confirmation."
    )
