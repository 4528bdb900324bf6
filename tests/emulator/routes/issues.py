"""Issues: list (state, labels, since, pagination), get, create, update."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..auth import Caller, require, require_read
from ..clock import parse_iso
from ..core import Emu
from ..errors import GitHubError, invalid_field
from ..service import issues as svc
from ..state import Issue, Repo, role_at_least
from .common import CallerDep, EmuDep, actor_of, json_object, paginate, respond

router = APIRouter()


def participating_repo(emu: Emu, caller: Caller, owner: str, name: str, permission: str) -> Repo:
    """A repository the caller may open issues or comment in: apps need `permission` write,
    people need to see the repository."""
    repo = emu.repo(owner, name)
    if caller.kind == "installation":
        require(caller, repo, permission)
    else:
        require_read(caller, repo)
        if caller.kind is None:
            raise GitHubError(401, "Requires authentication")
    return repo


def triage_repo(emu: Emu, caller: Caller, owner: str, name: str) -> Repo:
    repo = emu.repo(owner, name)
    require(caller, repo, "issues", "triage")
    return repo


@router.get("/repos/{owner}/{repo}/issues", name="issues/list-for-repo")
async def list_issues(
    owner: str, repo: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    params = request.query_params
    state = params.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise invalid_field("Issue", "state")
    items = list(target.issues.values())
    if state != "all":
        items = [i for i in items if i.state == state]
    if params.get("labels"):
        wanted = {n.strip().lower() for n in params["labels"].split(",") if n.strip()}
        items = [i for i in items if wanted <= {n.lower() for n in i.labels}]
    if params.get("since"):
        try:
            since = parse_iso(params["since"])
        except ValueError as exc:
            raise invalid_field("Issue", "since") from exc
        items = [i for i in items if i.updated_at >= since]
    if params.get("creator"):
        items = [i for i in items if i.user.login.lower() == params["creator"].lower()]
    assignee = params.get("assignee")
    if assignee == "none":
        items = [i for i in items if not i.assignees]
    elif assignee and assignee != "*":
        items = [i for i in items if assignee.lower() in {a.lower() for a in i.assignees}]
    elif assignee == "*":
        items = [i for i in items if i.assignees]
    sort = params.get("sort", "created")
    if sort not in ("created", "updated", "comments"):
        raise invalid_field("Issue", "sort")

    def key(issue: Issue) -> tuple[float, int]:
        if sort == "updated":
            return (issue.updated_at.timestamp(), issue.number)
        if sort == "comments":
            return (float(len(issue.comment_ids)), issue.number)
        return (issue.created_at.timestamp(), issue.number)

    items.sort(key=key, reverse=params.get("direction", "desc") != "asc")
    return paginate(emu, request, [emu.shapes.issue(target, i) for i in items])


@router.get("/repos/{owner}/{repo}/issues/{number:int}", name="issues/get")
async def get_issue(owner: str, repo: str, number: int, emu: EmuDep, caller: CallerDep) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    return respond(emu.shapes.issue(target, svc.issue_of(target, number)))


@router.post("/repos/{owner}/{repo}/issues", name="issues/create")
async def create_issue(
    owner: str, repo: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = participating_repo(emu, caller, owner, repo, "issues")
    body = await json_object(request)
    labels = body.get("labels") or []
    assignees = body.get("assignees") or ([body["assignee"]] if body.get("assignee") else [])
    can_triage = caller.kind == "installation" or (
        caller.actor is not None and role_at_least(target.role_of(caller.actor.login), "triage")
    )
    if not can_triage:  # GitHub silently drops labels and assignees set by people without triage
        labels, assignees = [], []
    names = [n["name"] if isinstance(n, dict) else str(n) for n in labels]
    issue = svc.open_issue(
        emu, target, actor_of(caller), body.get("title"), body.get("body"), names, assignees
    )
    headers = {"Location": f"{emu.base_url}/repos/{target.full_name}/issues/{issue.number}"}
    return respond(emu.shapes.issue(target, issue), status=201, headers=headers)


@router.patch("/repos/{owner}/{repo}/issues/{number:int}", name="issues/update")
async def update_issue(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    issue = svc.issue_of(target, number)
    is_author = caller.actor is not None and caller.actor.id == issue.user.id
    if not is_author or caller.kind == "installation":
        require(caller, target, "issues", "triage")
    body = await json_object(request)
    svc.edit_issue(emu, target, issue, actor_of(caller), body)
    return respond(emu.shapes.issue(target, issue))
