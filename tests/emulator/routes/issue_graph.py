"""Sub-issues (`…/issues/{n}/sub_issues`, `…/sub_issue`, `…/sub_issues/priority`) and issue
dependencies (`…/issues/{n}/dependencies/blocked_by`, `…/blocked_by/{issue_id}`, `…/blocking`).

Reading needs read access; changing needs `issues: write` (apps) or triage (people), as on
GitHub. Adding answers 201 with the issue named in the path; removing answers 200 with it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..auth import require, require_read
from ..core import Emu
from ..errors import custom_error
from ..service import issue_graph as graph
from ..state import Issue, Repo
from .common import CallerDep, EmuDep, actor_of, json_object, paginate, respond

router = APIRouter()

_BASE = "/repos/{owner}/{repo}/issues/{number:int}"


def _readable(
    emu: Emu, caller: CallerDep, owner: str, repo: str, number: int
) -> tuple[Repo, Issue]:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    return target, graph.plain_issue(target, number)


def _triage(emu: Emu, caller: CallerDep, owner: str, repo: str, number: int) -> tuple[Repo, Issue]:
    target = emu.repo(owner, repo)
    require(caller, target, "issues", "triage")
    return target, graph.plain_issue(target, number)


def _issue_url(emu: Emu, repo: Repo, issue: Issue) -> str:
    return f"{emu.base_url}/repos/{repo.full_name}/issues/{issue.number}"


# -- sub-issues -----------------------------------------------------------------------------------


@router.get(f"{_BASE}/sub_issues", name="issues/list-sub-issues")
async def list_sub_issues(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target, parent = _readable(emu, caller, owner, repo, number)
    subs = [target.issues[n] for n in parent.sub_issues]
    return paginate(emu, request, [emu.shapes.issue(target, i) for i in subs])


@router.post(f"{_BASE}/sub_issues", name="issues/add-sub-issue")
async def add_sub_issue(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target, parent = _triage(emu, caller, owner, repo, number)
    body = await json_object(request)
    child = graph.issue_by_id(target, body.get("sub_issue_id"), "sub_issue_id")
    replace = body.get("replace_parent", False)
    if not isinstance(replace, bool):
        raise custom_error("Issue", "replace_parent must be a boolean", "replace_parent")
    graph.add_sub_issue(emu, target, parent, actor_of(caller), child, replace_parent=replace)
    headers = {"Location": f"{_issue_url(emu, target, parent)}/sub_issues"}
    return respond(emu.shapes.issue(target, parent), status=201, headers=headers)


@router.delete(f"{_BASE}/sub_issue", name="issues/remove-sub-issue")
async def remove_sub_issue(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target, parent = _triage(emu, caller, owner, repo, number)
    body = await json_object(request)
    child = graph.issue_by_id(target, body.get("sub_issue_id"), "sub_issue_id", removing=True)
    graph.remove_sub_issue(emu, target, parent, actor_of(caller), child)
    headers = {"Location": f"{_issue_url(emu, target, parent)}/sub_issue"}
    return respond(emu.shapes.issue(target, parent), headers=headers)


@router.patch(f"{_BASE}/sub_issues/priority", name="issues/reprioritize-sub-issue")
async def reprioritize_sub_issue(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target, parent = _triage(emu, caller, owner, repo, number)
    body = await json_object(request)
    child = graph.issue_by_id(target, body.get("sub_issue_id"), "sub_issue_id")
    after = (
        graph.issue_by_id(target, body["after_id"], "after_id")
        if body.get("after_id") is not None
        else None
    )
    before = (
        graph.issue_by_id(target, body["before_id"], "before_id")
        if body.get("before_id") is not None
        else None
    )
    graph.reprioritize(target, parent, child, after, before)
    return respond(emu.shapes.issue(target, parent))


# -- dependencies ---------------------------------------------------------------------------------


@router.get(f"{_BASE}/dependencies/blocked_by", name="issues/list-dependencies-blocked-by")
async def list_blocked_by(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target, issue = _readable(emu, caller, owner, repo, number)
    blockers = [target.issues[n] for n in issue.blocked_by]
    return paginate(emu, request, [emu.shapes.issue(target, i) for i in blockers])


@router.post(f"{_BASE}/dependencies/blocked_by", name="issues/add-blocked-by-dependency")
async def add_blocked_by(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target, issue = _triage(emu, caller, owner, repo, number)
    body = await json_object(request)
    blocking = graph.issue_by_id(target, body.get("issue_id"), "issue_id")
    graph.add_blocked_by(emu, target, issue, actor_of(caller), blocking)
    headers = {"Location": f"{_issue_url(emu, target, issue)}/dependencies/blocked_by"}
    return respond(emu.shapes.issue(target, issue), status=201, headers=headers)


@router.delete(
    f"{_BASE}/dependencies/blocked_by/{{issue_id:int}}", name="issues/remove-dependency-blocked-by"
)
async def remove_blocked_by(
    owner: str, repo: str, number: int, issue_id: int, emu: EmuDep, caller: CallerDep
) -> object:
    target, issue = _triage(emu, caller, owner, repo, number)
    blocking = graph.issue_by_id(target, issue_id, "issue_id", removing=True)
    graph.remove_blocked_by(emu, target, issue, actor_of(caller), blocking)
    return respond(emu.shapes.issue(target, issue))


@router.get(f"{_BASE}/dependencies/blocking", name="issues/list-dependencies-blocking")
async def list_blocking(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target, issue = _readable(emu, caller, owner, repo, number)
    blocked = graph.blocking_of(target, issue)
    return paginate(emu, request, [emu.shapes.issue(target, i) for i in blocked])
