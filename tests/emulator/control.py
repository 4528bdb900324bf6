"""The control API under `/_emulator/`: set the world up, act as people, inspect and break things.

Documented with curl examples in README.md. Acting as a user goes through the same service
functions as the REST routes, so the webhooks are the same.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from . import gitrepo
from .auth import Caller, require, require_read
from .clock import iso
from .core import Emu
from .errors import GitHubError, not_found
from .routes.common import json_object, no_content, respond
from .service import checks as checks_svc
from .service import issues as issues_svc
from .service import pulls as pulls_svc
from .service.issues import Actor
from .state import Repo

router = APIRouter(prefix="/_emulator")


def _emu(request: Request) -> Emu:
    emu: Emu = request.app.state.emu
    return emu


def _str(body: dict[str, Any], key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise GitHubError(422, f"{key!r} is required (a non-empty string)")
    return value


# -- setup --------------------------------------------------------------------------------------


@router.get("")
@router.get("/")
async def summary(request: Request) -> object:
    emu = _emu(request)
    return respond(
        {
            "base_url": emu.base_url,
            "now": iso(emu.clock.now()),
            "apps": len(emu.world.apps),
            "repos": sorted(r.full_name for r in emu.world.repos.values()),
            "users": sorted(u.login for u in emu.world.users.values()),
            "pending_deliveries": emu.deliverer.pending(),
        }
    )


@router.post("/apps")
async def register_app(request: Request) -> object:
    emu = _emu(request)
    body = await json_object(request)
    app = emu.register_app(
        _str(body, "name"),
        webhook_url=body.get("webhook_url"),
        owner=body.get("owner"),
        permissions=body.get("permissions"),
        events=body.get("events"),
        webhook_secret=body.get("webhook_secret"),
    )
    return respond(_app_json(app), status=201)


def _app_json(app: Any) -> dict[str, Any]:
    return {
        "id": app.id,
        "slug": app.slug,
        "name": app.name,
        "client_id": app.client_id,
        "node_id": app.node_id,
        "private_key": app.private_key_pem,
        "webhook_secret": app.webhook_secret,
        "webhook_url": app.webhook_url,
        "hook_id": app.hook_id,
        "bot_login": app.bot.login,
        "bot_id": app.bot.id,
        "owner": app.owner.login,
        "permissions": dict(app.permissions),
    }


@router.patch("/apps/{app_id:int}")
async def update_app(app_id: int, request: Request) -> object:
    emu = _emu(request)
    app = emu.world.apps.get(app_id)
    if app is None:
        raise not_found("app not found")
    body = await json_object(request)
    if "webhook_url" in body:
        app.webhook_url = body["webhook_url"]
    if "events" in body:
        app.events = list(body["events"] or [])
    return respond(_app_json(app))


@router.post("/repos")
async def create_repo(request: Request) -> object:
    emu = _emu(request)
    body = await json_object(request)
    files = body.get("files")
    if files is not None and not isinstance(files, dict):
        raise GitHubError(422, "'files' must map paths to contents")
    repo = emu.create_repo(
        _str(body, "owner"),
        _str(body, "name"),
        files=files,
        default_branch=body.get("default_branch") or "main",
        private=bool(body.get("private", False)),
        description=body.get("description"),
        owner_type=body.get("owner_type") or "User",
    )
    return respond(_repo_json(emu, repo), status=201)


def _repo_json(emu: Emu, repo: Repo) -> dict[str, Any]:
    return {
        "id": repo.id,
        "full_name": repo.full_name,
        "owner": repo.owner.login,
        "name": repo.name,
        "private": repo.private,
        "default_branch": repo.default_branch,
        "clone_url": f"{emu.base_url}/{repo.full_name}.git",
        "git_dir": str(repo.path),
        "branches": gitrepo.branches(repo.path),
    }


@router.get("/repos/{owner}/{name}")
async def get_repo(owner: str, name: str, request: Request) -> object:
    emu = _emu(request)
    return respond(_repo_json(emu, emu.repo(owner, name)))


@router.get("/repos/{owner}/{name}/dispatches")
async def list_dispatches(owner: str, name: str, request: Request) -> object:
    """The repository's `workflow_dispatch` requests, oldest first."""
    emu = _emu(request)
    return respond([d.to_json() for d in emu.repo(owner, name).workflow_dispatches])


@router.post("/repos/{owner}/{name}/collaborators")
async def add_collaborator(owner: str, name: str, request: Request) -> object:
    emu = _emu(request)
    body = await json_object(request)
    repo = emu.repo(owner, name)
    emu.set_role(repo, _str(body, "login"), body.get("permission", "write"))
    return no_content()


@router.post("/installations")
async def install(request: Request) -> object:
    emu = _emu(request)
    body = await json_object(request)
    repos = body.get("repositories") or []
    if not isinstance(repos, list):
        raise GitHubError(422, "'repositories' must be a list of owner/name")
    inst = emu.install(int(body.get("app_id", 0)), [str(r) for r in repos], body.get("account"))
    names = [r.full_name for r in (emu.world.repo_by_id(i) for i in inst.repo_ids) if r]
    return respond(
        {
            "id": inst.id,
            "app_id": inst.app_id,
            "account": inst.account.login,
            "repositories": names,
        },
        status=201,
    )


@router.post("/users")
async def add_user(request: Request) -> object:
    emu = _emu(request)
    body = await json_object(request)
    user, token = emu.add_user(
        _str(body, "login"),
        repos=body.get("repos") or {},
        token=body.get("token", False),
        name=body.get("name"),
        email=body.get("email"),
    )
    return respond(
        {"login": user.login, "id": user.id, "email": user.email, "token": token}, status=201
    )


@router.post("/reset")
async def reset(request: Request) -> object:
    _emu(request).reset()
    return no_content()


# -- clock, faults, logs ------------------------------------------------------------------------


@router.get("/clock")
async def get_clock(request: Request) -> object:
    emu = _emu(request)
    return respond({"now": iso(emu.clock.now()), "offset_seconds": emu.clock.offset_seconds})


@router.post("/clock")
async def advance_clock(request: Request) -> object:
    emu = _emu(request)
    body = await json_object(request)
    seconds = body.get("advance_seconds")
    if not isinstance(seconds, int | float) or seconds < 0:
        raise GitHubError(422, "'advance_seconds' must be a number ≥ 0")
    emu.clock.advance(seconds)
    return respond({"now": iso(emu.clock.now()), "offset_seconds": emu.clock.offset_seconds})


@router.post("/faults")
async def add_fault(request: Request) -> object:
    emu = _emu(request)
    body = await json_object(request)
    try:
        fault = emu.faults.add(
            str(body.get("kind", "")),  # type: ignore[arg-type]
            str(body.get("method", "*")),
            _str(body, "path"),
            int(body.get("count", 1)),
            body.get("retry_after"),
        )
    except ValueError as exc:
        raise GitHubError(422, str(exc)) from exc
    return respond(fault.to_json(), status=201)


@router.get("/faults")
async def list_faults(request: Request) -> object:
    return respond([f.to_json() for f in _emu(request).faults.list()])


@router.delete("/faults")
async def clear_faults(request: Request) -> object:
    _emu(request).faults.clear()
    return no_content()


@router.get("/requests")
async def list_requests(request: Request) -> object:
    return respond([r.to_json() for r in _emu(request).requests.records()])


@router.delete("/requests")
async def clear_requests(request: Request) -> object:
    _emu(request).requests.clear()
    return no_content()


@router.get("/deliveries")
async def list_deliveries(request: Request) -> object:
    return respond([d.to_json() for d in _emu(request).deliverer.log()])


@router.get("/deliveries/{delivery_id:int}")
async def get_delivery(delivery_id: int, request: Request) -> object:
    delivery = _emu(request).deliverer.get(delivery_id)
    if delivery is None:
        raise not_found()
    return respond(delivery.to_json())


@router.post("/deliveries/{delivery_id:int}/redeliver")
async def redeliver(delivery_id: int, request: Request) -> object:
    try:
        delivery = _emu(request).deliverer.redeliver(delivery_id)
    except KeyError as exc:
        raise not_found() from exc
    return respond(delivery.to_json(), status=201)


@router.post("/deliveries/wait")
async def wait_deliveries(request: Request) -> object:
    emu = _emu(request)
    body = await json_object(request)
    timeout = float(body.get("timeout", 10))
    idle = await asyncio.to_thread(emu.deliverer.wait_idle, timeout)
    return respond({"idle": idle, "pending": emu.deliverer.pending()}, status=200 if idle else 408)


@router.post("/webhooks/pause")
async def pause(request: Request) -> object:
    body = await json_object(request)
    _emu(request).deliverer.pause(_str(body, "url"))
    return no_content()


@router.post("/webhooks/resume")
async def resume(request: Request) -> object:
    body = await json_object(request)
    _emu(request).deliverer.resume(_str(body, "url"))
    return no_content()


@router.post("/webhooks/drop")
async def drop(request: Request) -> object:
    body = await json_object(request)
    _emu(request).deliverer.drop_next(int(body.get("count", 1)), body.get("url"))
    return no_content()


# -- acting as a person -------------------------------------------------------------------------

AS = "/as/{login}/repos/{owner}/{name}"


def _person(emu: Emu, login: str, owner: str, name: str) -> tuple[Repo, Caller, Actor]:
    user = emu.world.user(login)
    if user is None:
        raise not_found(f"no user {login!r}; create it with POST /_emulator/users")
    repo = emu.repo(owner, name)
    caller = Caller(kind="user", actor=user)
    require_read(caller, repo)
    return repo, caller, Actor(user)


@router.post(AS + "/issues")
async def as_open_issue(login: str, owner: str, name: str, request: Request) -> object:
    emu = _emu(request)
    repo, caller, actor = _person(emu, login, owner, name)
    body = await json_object(request)
    labels = [str(n) for n in body.get("labels") or []]
    if labels:
        require(caller, repo, "issues", "triage")
    issue = issues_svc.open_issue(
        emu, repo, actor, body.get("title"), body.get("body"), labels, body.get("assignees")
    )
    return respond(emu.shapes.issue(repo, issue), status=201)


@router.patch(AS + "/issues/{number:int}")
async def as_edit_issue(login: str, owner: str, name: str, number: int, request: Request) -> object:
    emu = _emu(request)
    repo, caller, actor = _person(emu, login, owner, name)
    issue = issues_svc.issue_of(repo, number)
    if actor.user.id != issue.user.id:
        require(caller, repo, "issues", "triage")
    issues_svc.edit_issue(emu, repo, issue, actor, await json_object(request))
    return respond(emu.shapes.issue(repo, issue))


@router.post(AS + "/issues/{number:int}/labels")
async def as_label(login: str, owner: str, name: str, number: int, request: Request) -> object:
    emu = _emu(request)
    repo, caller, actor = _person(emu, login, owner, name)
    require(caller, repo, "issues", "triage")
    issue = issues_svc.issue_of(repo, number)
    body = await json_object(request)
    issues_svc.add_labels(emu, repo, issue, actor, [str(n) for n in body.get("labels") or []])
    return respond(emu.shapes.issue(repo, issue))


@router.delete(AS + "/issues/{number:int}/labels/{label:path}")
async def as_unlabel(
    login: str, owner: str, name: str, number: int, label: str, request: Request
) -> object:
    emu = _emu(request)
    repo, caller, actor = _person(emu, login, owner, name)
    require(caller, repo, "issues", "triage")
    issue = issues_svc.issue_of(repo, number)
    issues_svc.remove_label(emu, repo, issue, actor, label)
    return respond(emu.shapes.issue(repo, issue))


@router.post(AS + "/issues/{number:int}/comments")
async def as_comment(login: str, owner: str, name: str, number: int, request: Request) -> object:
    emu = _emu(request)
    repo, _, actor = _person(emu, login, owner, name)
    issue = issues_svc.issue_of(repo, number)
    body = await json_object(request)
    comment = issues_svc.create_comment(emu, repo, issue, actor, body.get("body"))
    return respond(emu.shapes.comment(repo, comment), status=201)


@router.patch(AS + "/issues/comments/{comment_id:int}")
async def as_edit_comment(
    login: str, owner: str, name: str, comment_id: int, request: Request
) -> object:
    emu = _emu(request)
    repo, caller, actor = _person(emu, login, owner, name)
    comment = issues_svc.comment_of(repo, comment_id)
    if actor.user.id != comment.user.id:
        require(caller, repo, "issues", "maintain")
    body = await json_object(request)
    issues_svc.edit_comment(emu, repo, comment, actor, body.get("body"))
    return respond(emu.shapes.comment(repo, comment))


@router.post(AS + "/pulls")
async def as_open_pull(login: str, owner: str, name: str, request: Request) -> object:
    emu = _emu(request)
    repo, caller, actor = _person(emu, login, owner, name)
    require(caller, repo, "pull_requests")
    body = await json_object(request)
    pull = pulls_svc.open_pull(
        emu,
        repo,
        actor,
        title=body.get("title"),
        head=body.get("head"),
        base=body.get("base") or repo.default_branch,
        body=body.get("body"),
        draft=bool(body.get("draft", False)),
    )
    return respond(emu.shapes.pull(repo, pull), status=201)


@router.put(AS + "/pulls/{number:int}/merge")
async def as_merge_pull(login: str, owner: str, name: str, number: int, request: Request) -> object:
    """Press "Merge pull request" (GitHub's merge button): the same as REST `pulls/merge`."""
    emu = _emu(request)
    repo, caller, actor = _person(emu, login, owner, name)
    require(caller, repo, "contents")
    pull = pulls_svc.pull_of(repo, number)
    body = await json_object(request)
    sha = pulls_svc.merge_pull(
        emu,
        repo,
        pull,
        actor,
        merge_method=body.get("merge_method"),
        sha=body.get("sha"),
        commit_title=body.get("commit_title"),
        commit_message=body.get("commit_message"),
    )
    return respond({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


@router.post(AS + "/pulls/{number:int}/reviews")
async def as_review(login: str, owner: str, name: str, number: int, request: Request) -> object:
    emu = _emu(request)
    repo, _, actor = _person(emu, login, owner, name)
    pull = pulls_svc.pull_of(repo, number)
    body = await json_object(request)
    review = pulls_svc.submit_review(
        emu,
        repo,
        pull,
        actor,
        body=body.get("body"),
        event=body.get("event", "COMMENT"),
        comments=list(body.get("comments") or []),
        commit_id=body.get("commit_id"),
    )
    return respond(emu.shapes.review(repo, review), status=201)


@router.post(AS + "/check-runs/{run_id:int}/rerequest")
async def as_rerequest(login: str, owner: str, name: str, run_id: int, request: Request) -> object:
    emu = _emu(request)
    repo, caller, actor = _person(emu, login, owner, name)
    require(caller, repo, "checks")
    checks_svc.rerequest(emu, repo, checks_svc.run_of(repo, run_id), actor)
    return respond({}, status=201)


@router.post(AS + "/check-runs/{run_id:int}/requested_action")
async def as_requested_action(
    login: str, owner: str, name: str, run_id: int, request: Request
) -> object:
    emu = _emu(request)
    repo, caller, actor = _person(emu, login, owner, name)
    require(caller, repo, "checks")
    body = await json_object(request)
    run = checks_svc.run_of(repo, run_id)
    checks_svc.request_action(emu, repo, run, actor, _str(body, "identifier"))
    return respond({}, status=201)


@router.post(AS + "/commits")
async def as_push_commit(login: str, owner: str, name: str, request: Request) -> object:
    """Commit files on a branch as the user (like a push from their machine): `push` event."""
    emu = _emu(request)
    repo, caller, actor = _person(emu, login, owner, name)
    require(caller, repo, "contents")
    body = await json_object(request)
    branch = body.get("branch") or repo.default_branch
    files = body.get("files") or {}
    if not isinstance(files, dict) or not files:
        raise GitHubError(422, "'files' must map paths to contents")
    ref = f"refs/heads/{branch}"
    old = gitrepo.refs(repo.path, ref).get(ref)
    base = body.get("from")
    if old is None and base:
        start = gitrepo.resolve_ref_or_sha(repo.path, str(base))
        if start is None:
            raise GitHubError(422, f"no such ref {base!r}")
        gitrepo.update_ref(repo.path, ref, start)
    elif old is None:
        start = gitrepo.resolve(repo.path, f"refs/heads/{repo.default_branch}")
        if start is not None:
            gitrepo.update_ref(repo.path, ref, start)
    user = actor.user
    sha = gitrepo.commit_files(
        repo.path,
        branch,
        {str(k): str(v) for k, v in files.items()},
        str(body.get("message") or "Update files"),
        emu.clock.now(),
        author=(user.name or user.login, user.email or f"{user.login}@users.noreply.github.com"),
    )
    pulls_svc.record_push(emu, repo, actor, {ref: (old, sha)})
    return respond({"sha": sha, "ref": ref}, status=201)
