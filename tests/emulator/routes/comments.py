"""Issue comments and reactions (on issues and on issue comments)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..auth import require, require_read
from ..clock import parse_iso
from ..errors import invalid_field
from ..service import issues as svc
from .common import CallerDep, EmuDep, actor_of, json_object, no_content, paginate, respond
from .issues import participating_repo

router = APIRouter()


@router.get("/repos/{owner}/{repo}/issues/comments", name="issues/list-comments-for-repo")
async def list_repo_comments(
    owner: str, repo: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    comments = sorted(target.comments.values(), key=lambda c: (c.created_at, c.id))
    since = request.query_params.get("since")
    if since:
        try:
            moment = parse_iso(since)
        except ValueError as exc:
            raise invalid_field("IssueComment", "since") from exc
        comments = [c for c in comments if c.updated_at >= moment]
    if request.query_params.get("direction") == "desc":
        comments.reverse()
    return paginate(emu, request, [emu.shapes.comment(target, c) for c in comments])


@router.get("/repos/{owner}/{repo}/issues/comments/{comment_id:int}", name="issues/get-comment")
async def get_comment(
    owner: str, repo: str, comment_id: int, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    return respond(emu.shapes.comment(target, svc.comment_of(target, comment_id)))


@router.patch(
    "/repos/{owner}/{repo}/issues/comments/{comment_id:int}", name="issues/update-comment"
)
async def update_comment(
    owner: str, repo: str, comment_id: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = participating_repo(emu, caller, owner, repo, "issues")
    comment = svc.comment_of(target, comment_id)
    if caller.actor is None or caller.actor.id != comment.user.id:
        require(caller, target, "issues", "maintain")
    body = await json_object(request)
    svc.edit_comment(emu, target, comment, actor_of(caller), body.get("body"))
    return respond(emu.shapes.comment(target, comment))


@router.delete(
    "/repos/{owner}/{repo}/issues/comments/{comment_id:int}", name="issues/delete-comment"
)
async def delete_comment(
    owner: str, repo: str, comment_id: int, emu: EmuDep, caller: CallerDep
) -> object:
    target = participating_repo(emu, caller, owner, repo, "issues")
    comment = svc.comment_of(target, comment_id)
    if caller.actor is None or caller.actor.id != comment.user.id:
        require(caller, target, "issues", "maintain")
    svc.delete_comment(emu, target, comment, actor_of(caller))
    return no_content()


@router.get("/repos/{owner}/{repo}/issues/{number:int}/comments", name="issues/list-comments")
async def list_comments(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    issue = svc.issue_of(target, number)
    comments = [target.comments[i] for i in issue.comment_ids]
    since = request.query_params.get("since")
    if since:
        try:
            moment = parse_iso(since)
        except ValueError as exc:
            raise invalid_field("IssueComment", "since") from exc
        comments = [c for c in comments if c.updated_at >= moment]
    return paginate(emu, request, [emu.shapes.comment(target, c) for c in comments])


@router.post("/repos/{owner}/{repo}/issues/{number:int}/comments", name="issues/create-comment")
async def create_comment(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = participating_repo(emu, caller, owner, repo, "issues")
    issue = svc.issue_of(target, number)
    body = await json_object(request)
    comment = svc.create_comment(emu, target, issue, actor_of(caller), body.get("body"))
    headers = {"Location": f"{emu.base_url}/repos/{target.full_name}/issues/comments/{comment.id}"}
    return respond(emu.shapes.comment(target, comment), status=201, headers=headers)


@router.post(
    "/repos/{owner}/{repo}/issues/{number:int}/reactions", name="reactions/create-for-issue"
)
async def react_to_issue(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = participating_repo(emu, caller, owner, repo, "issues")
    issue = svc.issue_of(target, number)
    body = await json_object(request)
    reaction, created = svc.add_reaction(
        emu, issue.reactions, actor_of(caller), body.get("content")
    )
    return respond(emu.shapes.reaction(reaction), status=201 if created else 200)


@router.get("/repos/{owner}/{repo}/issues/{number:int}/reactions", name="reactions/list-for-issue")
async def list_issue_reactions(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    issue = svc.issue_of(target, number)
    return paginate(emu, request, [emu.shapes.reaction(r) for r in issue.reactions])


@router.post(
    "/repos/{owner}/{repo}/issues/comments/{comment_id:int}/reactions",
    name="reactions/create-for-issue-comment",
)
async def react_to_comment(
    owner: str, repo: str, comment_id: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = participating_repo(emu, caller, owner, repo, "issues")
    comment = svc.comment_of(target, comment_id)
    body = await json_object(request)
    reaction, created = svc.add_reaction(
        emu, comment.reactions, actor_of(caller), body.get("content")
    )
    return respond(emu.shapes.reaction(reaction), status=201 if created else 200)


@router.get(
    "/repos/{owner}/{repo}/issues/comments/{comment_id:int}/reactions",
    name="reactions/list-for-issue-comment",
)
async def list_comment_reactions(
    owner: str, repo: str, comment_id: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    comment = svc.comment_of(target, comment_id)
    return paginate(emu, request, [emu.shapes.reaction(r) for r in comment.reactions])
