"""GitHub Actions: `POST /repos/{o}/{r}/actions/workflows/{workflow_id}/dispatches` — start a
`workflow_dispatch` run. No workflow runs here: the emulator checks the request as GitHub does
(the workflow file exists at the ref and has a `workflow_dispatch` trigger declaring every
input given) and records the dispatch on the repository (`Repo.workflow_dispatches`), where a
test's stand-in runner picks it up (`GET /_emulator/repos/{o}/{r}/dispatches`)."""

from __future__ import annotations

import json
from typing import Any

import yaml
from fastapi import APIRouter, Request

from .. import gitrepo
from ..errors import GitHubError, not_found
from ..state import Repo, WorkflowDispatch
from .common import CallerDep, EmuDep, actor_of, json_object, no_content, respond, writable_repo

router = APIRouter()

WORKFLOWS_DIR = ".github/workflows"
DOCS = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"


def refused(message: str) -> GitHubError:
    """422 with GitHub's own sentence as the message (no `errors` list, as GitHub answers)."""
    return GitHubError(422, message, documentation_url=DOCS)


def workflow_triggers(text: str) -> dict[str, Any]:
    """The `on:` section of a workflow file as a mapping (`on: [a, b]` and `on: a` too).
    YAML 1.1 reads a bare `on` key as True, as PyYAML does; GitHub accepts both."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(document, dict):
        return {}
    on = document.get("on", document.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {str(item): None for item in on}
    return on if isinstance(on, dict) else {}


def _workflow_file(repo: Repo, workflow_id: str, sha: str) -> str | None:
    if "/" in workflow_id or workflow_id.startswith("."):
        return None
    done = gitrepo.git(repo.path, "show", f"{sha}:{WORKFLOWS_DIR}/{workflow_id}", check=False)
    return done or None


@router.post(
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
    name="actions/create-workflow-dispatch",
)
async def create_workflow_dispatch(
    owner: str, repo: str, workflow_id: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = writable_repo(emu, caller, owner, repo, "actions")
    body = await json_object(request)
    ref = body.get("ref")
    if not isinstance(ref, str) or not ref:
        raise refused('Invalid request.\n\n"ref" wasn\'t supplied.')
    inputs = body.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise refused("Invalid request.\n\nFor 'properties/inputs', is not an object.")
    if len(inputs) > 25:
        raise refused("Invalid request.\n\nFor 'properties/inputs', too many properties.")
    sha = gitrepo.resolve_ref_or_sha(target.path, ref)
    if sha is None:
        raise refused(f"No ref found for: {ref}")
    text = _workflow_file(target, workflow_id, sha)
    if text is None:
        raise not_found()
    triggers = workflow_triggers(text)
    if "workflow_dispatch" not in triggers:
        raise refused("Workflow does not have 'workflow_dispatch' trigger")
    declared = (triggers.get("workflow_dispatch") or {}).get("inputs") or {}
    unexpected = sorted(name for name in inputs if name not in declared)
    if unexpected:
        raise refused(f"Unexpected inputs provided: {json.dumps(unexpected)}")
    missing = sorted(
        name
        for name, spec in declared.items()
        if isinstance(spec, dict) and spec.get("required") and name not in inputs
    )
    if missing:
        raise refused(f"Required input '{missing[0]}' not provided")
    run_id = emu.world.new_id()
    target.workflow_dispatches.append(
        WorkflowDispatch(
            run_id=run_id,
            workflow=workflow_id,
            ref=ref,
            sha=sha,
            inputs={str(k): "" if v is None else str(v) for k, v in inputs.items()},
            actor=actor_of(caller).user.login,
            created_at=emu.clock.now(),
        )
    )
    if body.get("return_run_details") is True:
        return respond(
            {
                "workflow_run_id": run_id,
                "run_url": f"{emu.shapes.api}/repos/{target.full_name}/actions/runs/{run_id}",
                "html_url": f"{emu.shapes.web}/{target.full_name}/actions/runs/{run_id}",
            }
        )
    return no_content()
