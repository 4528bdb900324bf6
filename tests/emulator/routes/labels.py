"""Repository labels and the labels of an issue."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request

from ..auth import require_read
from ..errors import invalid_field, missing_field, not_found, validation_failed
from ..service import issues as svc
from ..state import Repo
from .common import CallerDep, EmuDep, actor_of, json_body, no_content, paginate, respond
from .issues import triage_repo

router = APIRouter()

_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


def _names(body: Any) -> list[str]:
    """Label names from `{"labels": [...]}`, a bare list, or a list of `{"name": ...}`."""
    if isinstance(body, dict):
        body = body.get("labels", [])
    if not isinstance(body, list):
        raise invalid_field("Label", "labels")
    names = []
    for item in body:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            raise invalid_field("Label", "name")
        names.append(name)
    return names


def _issue_labels(emu: EmuDep, repo: Repo, names: list[str]) -> list[dict[str, Any]]:
    return [
        emu.shapes.label(repo, repo.labels[n.lower()]) for n in names if n.lower() in repo.labels
    ]


@router.get("/repos/{owner}/{repo}/labels", name="issues/list-labels-for-repo")
async def list_labels(
    owner: str, repo: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    labels = sorted(target.labels.values(), key=lambda label: label.name.lower())
    return paginate(emu, request, [emu.shapes.label(target, label) for label in labels])


@router.get("/repos/{owner}/{repo}/labels/{name:path}", name="issues/get-label")
async def get_label(owner: str, repo: str, name: str, emu: EmuDep, caller: CallerDep) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    label = target.labels.get(name.lower())
    if label is None:
        raise not_found()
    return respond(emu.shapes.label(target, label))


@router.post("/repos/{owner}/{repo}/labels", name="issues/create-label")
async def create_label(
    owner: str, repo: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = triage_repo(emu, caller, owner, repo)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise invalid_field("Label", "name")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise missing_field("Label", "name")
    color = str(body.get("color") or "ededed").lstrip("#")
    if not _COLOR.match(color):
        raise invalid_field("Label", "color")
    if name.lower() in target.labels:
        raise validation_failed({"resource": "Label", "code": "already_exists", "field": "name"})
    label = emu.new_label(target, name, color.lower(), body.get("description"))
    return respond(emu.shapes.label(target, label), status=201)


@router.get("/repos/{owner}/{repo}/issues/{number:int}/labels", name="issues/list-labels-on-issue")
async def list_issue_labels(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    issue = svc.issue_of(target, number)
    return paginate(emu, request, _issue_labels(emu, target, issue.labels))


@router.post("/repos/{owner}/{repo}/issues/{number:int}/labels", name="issues/add-labels")
async def add_labels(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = triage_repo(emu, caller, owner, repo)
    issue = svc.issue_of(target, number)
    names = _names(await json_body(request))
    svc.add_labels(emu, target, issue, actor_of(caller), names)
    return respond(_issue_labels(emu, target, issue.labels))


@router.put("/repos/{owner}/{repo}/issues/{number:int}/labels", name="issues/set-labels")
async def set_labels(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = triage_repo(emu, caller, owner, repo)
    issue = svc.issue_of(target, number)
    names = _names(await json_body(request))
    svc.set_labels(emu, target, issue, actor_of(caller), names)
    return respond(_issue_labels(emu, target, issue.labels))


@router.delete("/repos/{owner}/{repo}/issues/{number:int}/labels", name="issues/remove-all-labels")
async def remove_all_labels(
    owner: str, repo: str, number: int, emu: EmuDep, caller: CallerDep
) -> object:
    target = triage_repo(emu, caller, owner, repo)
    issue = svc.issue_of(target, number)
    svc.set_labels(emu, target, issue, actor_of(caller), [])
    return no_content()


@router.delete(
    "/repos/{owner}/{repo}/issues/{number:int}/labels/{name:path}", name="issues/remove-label"
)
async def remove_label(
    owner: str, repo: str, number: int, name: str, emu: EmuDep, caller: CallerDep
) -> object:
    target = triage_repo(emu, caller, owner, repo)
    issue = svc.issue_of(target, number)
    svc.remove_label(emu, target, issue, actor_of(caller), name)
    return respond(_issue_labels(emu, target, issue.labels))
