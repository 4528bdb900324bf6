"""Check runs and their suites: validation as GitHub applies it, and `check_run` webhooks."""

from __future__ import annotations

from typing import Any

from .. import gitrepo
from ..clock import parse_iso
from ..core import Emu
from ..errors import GitHubError, invalid_field, missing_field, not_found
from ..state import CheckRun, CheckSuite, Repo, node_id
from .issues import Actor

STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
)
MAX_TEXT = 65535
MAX_ANNOTATIONS = 50
MAX_ACTIONS = 3


def _invalid(message: str) -> GitHubError:
    return GitHubError(422, f"Invalid request.\n\n{message}")


def run_of(repo: Repo, run_id: int) -> CheckRun:
    run = repo.check_runs.get(run_id)
    if run is None:
        raise not_found()
    return run


def _suite_for(emu: Emu, repo: Repo, app_id: int, head_sha: str) -> CheckSuite:
    for suite in repo.check_suites.values():
        if suite.app_id == app_id and suite.head_sha == head_sha:
            return suite
    branch = next((b for b, sha in gitrepo.branches(repo.path).items() if sha == head_sha), None)
    number = emu.world.new_id()
    now = emu.clock.now()
    suite = CheckSuite(number, node_id("CS_", number), app_id, head_sha, branch, now, now)
    repo.check_suites[suite.id] = suite
    return suite


def _check_output(output: Any) -> dict[str, Any]:
    if not isinstance(output, dict):
        raise invalid_field("CheckRun", "output")
    for key in ("title", "summary"):
        if not isinstance(output.get(key), str):
            raise _invalid(f'"{key}" wasn\'t supplied.')
    for key in ("summary", "text"):
        value = output.get(key)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise _invalid(f"Only {MAX_TEXT} characters are allowed; {len(value)} were supplied.")
    annotations = output.get("annotations") or []
    if len(annotations) > MAX_ANNOTATIONS:
        raise _invalid(f"No more than {MAX_ANNOTATIONS} annotations are allowed per request.")
    return output


def _check_actions(actions: Any) -> list[dict[str, Any]]:
    if not isinstance(actions, list):
        raise invalid_field("CheckRun", "actions")
    if len(actions) > MAX_ACTIONS:
        raise _invalid(f"No more than {MAX_ACTIONS} actions are allowed.")
    for action in actions:
        if not isinstance(action, dict):
            raise invalid_field("CheckRun", "actions")
        for key, limit in (("label", 20), ("description", 40), ("identifier", 20)):
            value = action.get(key)
            if not isinstance(value, str) or not value:
                raise _invalid(f'"{key}" wasn\'t supplied.')
            if len(value) > limit:
                raise _invalid(
                    f"Only {limit} characters are allowed in an action's {key}; "
                    f"{len(value)} were supplied."
                )
    return actions


def _apply(emu: Emu, run: CheckRun, fields: dict[str, Any]) -> bool:
    """Apply create/update fields to `run`; True when the run became completed."""
    was_completed = run.status == "completed"
    for key in ("name", "details_url", "external_id"):
        if key in fields and fields[key] is not None:
            setattr(run, key, fields[key])
    if fields.get("started_at"):
        run.started_at = parse_iso(fields["started_at"])
    status = fields.get("status")
    conclusion = fields.get("conclusion")
    if status is not None and status not in STATUSES:
        raise invalid_field("CheckRun", "status")
    if conclusion is not None and conclusion not in CONCLUSIONS:
        raise invalid_field("CheckRun", "conclusion")
    if status == "completed" and conclusion is None and run.conclusion is None:
        raise missing_field("CheckRun", "conclusion")
    if "output" in fields and fields["output"] is not None:
        output = _check_output(fields["output"])
        run.output = {k: output.get(k) for k in ("title", "summary", "text")}
        run.annotations.extend(output.get("annotations") or [])
    if "actions" in fields and fields["actions"] is not None:
        run.actions = _check_actions(fields["actions"])
    if status is not None:
        run.status = status
    if conclusion is not None:
        run.conclusion = conclusion
        run.status = "completed"
    if run.status == "in_progress" and run.started_at is None:
        run.started_at = emu.clock.now()
    if run.status == "completed":
        run.completed_at = (
            parse_iso(fields["completed_at"]) if fields.get("completed_at") else emu.clock.now()
        )
    return run.status == "completed" and not was_completed


def _event(emu: Emu, repo: Repo, run: CheckRun, actor: Actor, action: str, **extra: Any) -> None:
    body: dict[str, Any] = {"action": action, "check_run": emu.shapes.check_run_event(repo, run)}
    body.update(extra)
    only = run.app_id if action in ("rerequested", "requested_action") else None
    emu.emit(repo, "check_run", actor.user, body, only_app=only)


def create_check_run(
    emu: Emu, repo: Repo, actor: Actor, app_id: int, fields: dict[str, Any]
) -> CheckRun:
    name, head_sha = fields.get("name"), fields.get("head_sha")
    if not isinstance(name, str) or not name:
        raise missing_field("CheckRun", "name")
    if not isinstance(head_sha, str) or not head_sha:
        raise missing_field("CheckRun", "head_sha")
    sha = gitrepo.resolve(repo.path, head_sha) if len(head_sha) >= 7 else None
    if sha is None:
        raise GitHubError(422, f"No commit found for SHA: {head_sha}")
    suite = _suite_for(emu, repo, app_id, sha)
    now = emu.clock.now()
    number = emu.world.new_id()
    run = CheckRun(
        id=number,
        node_id=node_id("CR_", number),
        app_id=app_id,
        suite_id=suite.id,
        name=name,
        head_sha=sha,
        status="queued",
        conclusion=None,
        created_at=now,
        started_at=now,
        completed_at=None,
    )
    completed = _apply(emu, run, fields)
    repo.check_runs[run.id] = run
    suite.updated_at = now
    _event(emu, repo, run, actor, "created")
    if completed:
        _event(emu, repo, run, actor, "completed")
    return run


def update_check_run(
    emu: Emu, repo: Repo, run: CheckRun, actor: Actor, app_id: int, fields: dict[str, Any]
) -> None:
    if run.app_id != app_id:
        raise GitHubError(
            403,
            f"Invalid app_id `{app_id}` - check run can only be modified by the GitHub App "
            "that created it.",
        )
    completed = _apply(emu, run, fields)
    repo.check_suites[run.suite_id].updated_at = emu.clock.now()
    if completed:
        _event(emu, repo, run, actor, "completed")


def rerequest(emu: Emu, repo: Repo, run: CheckRun, actor: Actor) -> None:
    """Someone pressed "Re-run": the creating app gets `check_run.rerequested`."""
    _event(emu, repo, run, actor, "rerequested")


def request_action(emu: Emu, repo: Repo, run: CheckRun, actor: Actor, identifier: str) -> None:
    """Someone pressed one of the run's action buttons: `check_run.requested_action`."""
    if not any(a.get("identifier") == identifier for a in run.actions):
        raise invalid_field("CheckRun", "identifier")
    _event(emu, repo, run, actor, "requested_action", requested_action={"identifier": identifier})
