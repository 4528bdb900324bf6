"""Pure helpers for check-run payloads: GitHub's size limits and action-button rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runner.github.types import CheckRunAction

OUTPUT_TEXT_LIMIT = 65_535  # characters, for output.summary and output.text
TITLE_LIMIT = 1_000
TRUNCATION_NOTE = "\n\n…(truncated)"
MAX_ACTIONS = 3
ACTION_LABEL_LIMIT = 20
ACTION_DESCRIPTION_LIMIT = 40
ACTION_IDENTIFIER_LIMIT = 20


def truncate(text: str, limit: int = OUTPUT_TEXT_LIMIT) -> str:
    """`text` cut to `limit` characters, ending with a visible note when something was cut."""
    if len(text) <= limit:
        return text
    if limit <= len(TRUNCATION_NOTE):
        return text[:limit]
    return text[: limit - len(TRUNCATION_NOTE)] + TRUNCATION_NOTE


def build_output(title: str, summary: str, text: str | None = None) -> dict[str, Any]:
    output: dict[str, Any] = {
        "title": truncate(title, TITLE_LIMIT),
        "summary": truncate(summary),
    }
    if text is not None:
        output["text"] = truncate(text)
    return output


def action_payload(actions: Sequence[CheckRunAction]) -> list[dict[str, str]]:
    """The `actions` array, after checking GitHub's rules (ValueError says which one failed)."""
    if len(actions) > MAX_ACTIONS:
        raise ValueError(f"a check run may have at most {MAX_ACTIONS} actions, got {len(actions)}")
    payload: list[dict[str, str]] = []
    for action in actions:
        for field, value, limit in (
            ("label", action.label, ACTION_LABEL_LIMIT),
            ("description", action.description, ACTION_DESCRIPTION_LIMIT),
            ("identifier", action.identifier, ACTION_IDENTIFIER_LIMIT),
        ):
            if not value:
                raise ValueError(f"check run action {field} must not be empty")
            if len(value) > limit:
                raise ValueError(
                    f"check run action {field} {value!r} is {len(value)} characters; "
                    f"GitHub allows at most {limit}"
                )
        payload.append(
            {
                "label": action.label,
                "description": action.description,
                "identifier": action.identifier,
            }
        )
    return payload
