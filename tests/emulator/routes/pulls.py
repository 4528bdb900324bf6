"""Pull requests, requested reviewers, reviews and review comments."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..auth import require, require_read
from ..errors import invalid_field, not_found
from ..service import pulls as svc
from ..state import Repo, Review
from .common import CallerDep, EmuDep, actor_of, json_object, paginate, respond

router = APIRouter()

PR = "/repos/{owner}/{repo}/pulls/{number:int}"


@router.get("/repos/{owner}/{repo}/pulls", name="pulls/list")
async def list_pulls(
    owner: str, repo: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    params = request.query_params
    state = params.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise invalid_field("PullRequest", "state")
    pulls = list(target.pulls.values())
    if state != "all":
        pulls = [p for p in pulls if target.issues[p.number].state == state]
    head = params.get("head")
    if head:
        owner_part, sep, branch = head.partition(":")
        if not sep:
            owner_part, branch = target.owner.login, head
        if owner_part.lower() != target.owner.login.lower():
            pulls = []
        pulls = [p for p in pulls if p.head_ref == branch]
    if params.get("base"):
        pulls = [p for p in pulls if p.base_ref == params["base"]]
    sort = params.get("sort", "created")
    if sort == "updated":
        pulls.sort(key=lambda p: (target.issues[p.number].updated_at, p.number))
    else:
        pulls.sort(key=lambda p: p.number)
    if params.get("direction", "desc") == "desc":
        pulls.reverse()
    return paginate(emu, request, [emu.shapes.pull(target, p, simple=True) for p in pulls])


@router.post("/repos/{owner}/{repo}/pulls", name="pulls/create")
async def create_pull(
    owner: str, repo: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require(caller, target, "pull_requests")
    body = await json_object(request)
    pull = svc.open_pull(
        emu,
        target,
        actor_of(caller),
        title=body.get("title"),
        head=body.get("head"),
        base=body.get("base"),
        body=body.get("body"),
        draft=bool(body.get("draft", False)),
    )
    headers = {"Location": f"{emu.base_url}/repos/{target.full_name}/pulls/{pull.number}"}
    return respond(emu.shapes.pull(target, pull), status=201, headers=headers)


@router.get(PR, name="pulls/get")
async def get_pull(owner: str, repo: str, number: int, emu: EmuDep, caller: CallerDep) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    return respond(emu.shapes.pull(target, svc.pull_of(target, number)))


@router.patch(PR, name="pulls/update")
async def update_pull(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require(caller, target, "pull_requests")
    pull = svc.pull_of(target, number)
    body = await json_object(request)
    svc.edit_pull(emu, target, pull, actor_of(caller), body)
    return respond(emu.shapes.pull(target, pull))


@router.put(PR + "/merge", name="pulls/merge")
async def merge_pull(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require(caller, target, "contents")
    pull = svc.pull_of(target, number)
    body = await json_object(request)
    sha = svc.merge_pull(
        emu,
        target,
        pull,
        actor_of(caller),
        merge_method=body.get("merge_method"),
        sha=body.get("sha"),
        commit_title=body.get("commit_title"),
        commit_message=body.get("commit_message"),
    )
    return respond({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


@router.get(PR + "/requested_reviewers", name="pulls/list-requested-reviewers")
async def list_requested_reviewers(
    owner: str, repo: str, number: int, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    pull = svc.pull_of(target, number)
    users = [emu.world.user(login) for login in pull.requested_reviewers]
    return respond({"users": [emu.shapes.user(u) for u in users if u], "teams": []})


@router.post(PR + "/requested_reviewers", name="pulls/request-reviewers")
async def request_reviewers(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require(caller, target, "pull_requests")
    pull = svc.pull_of(target, number)
    body = await json_object(request)
    reviewers = body.get("reviewers") or []
    if not isinstance(reviewers, list):
        raise invalid_field("PullRequest", "reviewers")
    svc.request_reviewers(emu, target, pull, actor_of(caller), [str(r) for r in reviewers])
    return respond(emu.shapes.pull(target, pull, simple=True), status=201)


@router.get(PR + "/reviews", name="pulls/list-reviews")
async def list_reviews(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    svc.pull_of(target, number)
    reviews = [r for r in target.reviews.values() if r.pull_number == number]
    viewer = caller.actor.id if caller.actor else None
    reviews = [r for r in reviews if r.state != "PENDING" or r.user.id == viewer]
    return paginate(emu, request, [emu.shapes.review(target, r) for r in reviews])


@router.post(PR + "/reviews", name="pulls/create-review")
async def create_review(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require(caller, target, "pull_requests", "read")
    pull = svc.pull_of(target, number)
    body = await json_object(request)
    comments = body.get("comments") or []
    if not isinstance(comments, list) or not all(isinstance(c, dict) for c in comments):
        raise invalid_field("PullRequestReview", "comments")
    review = svc.submit_review(
        emu,
        target,
        pull,
        actor_of(caller),
        body=body.get("body"),
        event=body.get("event"),
        comments=comments,
        commit_id=body.get("commit_id"),
    )
    return respond(emu.shapes.review(target, review))


def _review(target: Repo, number: int, review_id: int) -> Review:
    review = target.reviews.get(review_id)
    if review is None or review.pull_number != number:
        raise not_found()
    return review


@router.get(PR + "/reviews/{review_id:int}", name="pulls/get-review")
async def get_review(
    owner: str, repo: str, number: int, review_id: int, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    return respond(emu.shapes.review(target, _review(target, number, review_id)))


@router.post(PR + "/reviews/{review_id:int}/events", name="pulls/submit-review")
async def submit_review(
    owner: str,
    repo: str,
    number: int,
    review_id: int,
    request: Request,
    emu: EmuDep,
    caller: CallerDep,
) -> object:
    target = emu.repo(owner, repo)
    require(caller, target, "pull_requests", "read")
    pull = svc.pull_of(target, number)
    review = _review(target, number, review_id)
    body = await json_object(request)
    svc.submit_pending_review(
        emu, target, pull, review, actor_of(caller), body.get("event"), body.get("body")
    )
    return respond(emu.shapes.review(target, review))


@router.get(PR + "/reviews/{review_id:int}/comments", name="pulls/list-comments-for-review")
async def list_review_comments_of_review(
    owner: str,
    repo: str,
    number: int,
    review_id: int,
    request: Request,
    emu: EmuDep,
    caller: CallerDep,
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    _review(target, number, review_id)
    comments = [c for c in target.review_comments.values() if c.review_id == review_id]
    items = []
    for comment in comments:
        item = emu.shapes.review_comment(target, comment)
        for key in (
            "reactions",
            "start_line",
            "original_start_line",
            "start_side",
            "line",
            "original_line",
            "side",
            "subject_type",
        ):
            item.pop(key, None)
        items.append(item)
    return paginate(emu, request, items)


@router.get(PR + "/comments", name="pulls/list-review-comments")
async def list_review_comments(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    svc.pull_of(target, number)
    comments = [c for c in target.review_comments.values() if c.pull_number == number]
    return paginate(emu, request, [emu.shapes.review_comment(target, c) for c in comments])


@router.post(PR + "/comments", name="pulls/create-review-comment")
async def create_review_comment(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require(caller, target, "pull_requests", "read")
    pull = svc.pull_of(target, number)
    body = await json_object(request)
    comment = svc.create_review_comment(emu, target, pull, actor_of(caller), body)
    return respond(emu.shapes.review_comment(target, comment), status=201)


@router.get(
    "/repos/{owner}/{repo}/pulls/comments/{comment_id:int}", name="pulls/get-review-comment"
)
async def get_review_comment(
    owner: str, repo: str, comment_id: int, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    comment = target.review_comments.get(comment_id)
    if comment is None:
        raise not_found()
    return respond(emu.shapes.review_comment(target, comment))
