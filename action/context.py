"""What the Actions runner tells a step about its run: the `GITHUB_*` / `RUNNER_*` variables and
the event payload file. Read from a mapping (the process environment), validated, typed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ActionSetupError(Exception):
    """The step's environment is not what a GitHub Actions step gets; the message says what to
    set or fix."""


@dataclass(frozen=True)
class ActionsContext:
    event_name: str
    payload: Mapping[str, Any]
    repository: str  # owner/name
    api_url: str
    server_url: str
    actor: str | None
    runner_temp: Path | None
    step_summary: Path | None  # GITHUB_STEP_SUMMARY
    output: Path | None  # GITHUB_OUTPUT
    run_url: str | None  # the workflow run, for links


def _path(environ: Mapping[str, str], name: str) -> Path | None:
    value = environ.get(name, "").strip()
    return Path(value) if value else None


def read_context(environ: Mapping[str, str]) -> ActionsContext:
    """The Actions context from `environ`. Raises `ActionSetupError` naming what is missing."""
    missing = [
        name
        for name in ("GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY")
        if not environ.get(name, "").strip()
    ]
    if missing:
        raise ActionSetupError(
            f"{', '.join(missing)} not set: `autocoder action` runs as a step of a GitHub "
            "Actions workflow (uses: <this action>); to run it by hand, set GITHUB_EVENT_NAME, "
            "GITHUB_EVENT_PATH (the event's JSON payload) and GITHUB_REPOSITORY (owner/name)"
        )
    event_path = Path(environ["GITHUB_EVENT_PATH"].strip())
    payload = load_payload(event_path)
    server_url = environ.get("GITHUB_SERVER_URL", "").strip().rstrip("/") or "https://github.com"
    api_url = environ.get("GITHUB_API_URL", "").strip().rstrip("/") or "https://api.github.com"
    repository = environ["GITHUB_REPOSITORY"].strip()
    run_id = environ.get("GITHUB_RUN_ID", "").strip()
    return ActionsContext(
        event_name=environ["GITHUB_EVENT_NAME"].strip(),
        payload=payload,
        repository=repository,
        api_url=api_url,
        server_url=server_url,
        actor=environ.get("GITHUB_ACTOR", "").strip() or None,
        runner_temp=_path(environ, "RUNNER_TEMP"),
        step_summary=_path(environ, "GITHUB_STEP_SUMMARY"),
        output=_path(environ, "GITHUB_OUTPUT"),
        run_url=f"{server_url}/{repository}/actions/runs/{run_id}" if run_id else None,
    )


def load_payload(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ActionSetupError(
            f"GITHUB_EVENT_PATH: cannot read the event payload {path}: {error.strerror}"
        ) from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise ActionSetupError(
            f"GITHUB_EVENT_PATH: {path} is not JSON ({error.msg} at line {error.lineno}); "
            "it must be the event's webhook payload"
        ) from None
    if not isinstance(payload, dict):
        raise ActionSetupError(f"GITHUB_EVENT_PATH: {path} must hold a JSON object")
    return payload
