"""Repositories, branches, commits, git refs and collaborator permissions (read from git)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from .. import gitrepo
from ..auth import repo_role
from ..errors import GitHubError, missing_field, not_found
from ..payloads import role_permissions
from ..service.pulls import record_push
from .common import (
    CallerDep,
    EmuDep,
    actor_of,
    json_object,
    no_content,
    paginate,
    readable_repo,
    respond,
    writable_repo,
)

router = APIRouter()

REFS_DOCS = "https://docs.github.com/rest/git/refs"


@router.get("/repos/{owner}/{repo}", name="repos/get")
async def get_repo(owner: str, repo: str, emu: EmuDep, caller: CallerDep) -> object:
    target = readable_repo(emu, caller, owner, repo)
    return respond(emu.shapes.repo(target, role=repo_role(emu.world, caller, target), full=True))


@router.get("/repos/{owner}/{repo}/branches", name="repos/list-branches")
async def list_branches(
    owner: str, repo: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = readable_repo(emu, caller, owner, repo)
    branches = sorted(gitrepo.branches(target.path).items())
    items = [emu.shapes.short_branch(target, name, sha) for name, sha in branches]
    for item in items:
        item.pop("protection")
    return paginate(emu, request, items)


@router.get("/repos/{owner}/{repo}/branches/{branch:path}", name="repos/get-branch")
async def get_branch(owner: str, repo: str, branch: str, emu: EmuDep, caller: CallerDep) -> object:
    target = readable_repo(emu, caller, owner, repo)
    sha = gitrepo.branches(target.path).get(branch)
    if sha is None:
        raise GitHubError(
            404,
            "Branch not found",
            documentation_url="https://docs.github.com/rest/branches/branches#get-a-branch",
        )
    return respond(emu.shapes.branch(target, branch, sha))


@router.get("/repos/{owner}/{repo}/commits/{ref:path}", name="repos/get-commit")
async def get_commit(owner: str, repo: str, ref: str, emu: EmuDep, caller: CallerDep) -> object:
    if ref.endswith(("/check-runs", "/check-suites", "/status", "/statuses")):
        raise not_found()
    target = readable_repo(emu, caller, owner, repo)
    sha = gitrepo.resolve_ref_or_sha(target.path, ref)
    if sha is None:
        raise GitHubError(422, f"No commit found for SHA: {ref}")
    return respond(emu.shapes.commit(target, sha))


def _full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/{ref}"


@router.get("/repos/{owner}/{repo}/git/ref/{ref:path}", name="git/get-ref")
async def get_ref(owner: str, repo: str, ref: str, emu: EmuDep, caller: CallerDep) -> object:
    target = readable_repo(emu, caller, owner, repo)
    full = _full_ref(ref)
    sha = gitrepo.refs(target.path, full).get(full)
    if sha is None:
        raise GitHubError(404, "Not Found", documentation_url=f"{REFS_DOCS}#get-a-reference")
    return respond(emu.shapes.git_ref(target, full, sha))


@router.get("/repos/{owner}/{repo}/git/matching-refs/{ref:path}", name="git/list-matching-refs")
async def matching_refs(owner: str, repo: str, ref: str, emu: EmuDep, caller: CallerDep) -> object:
    target = readable_repo(emu, caller, owner, repo)
    prefix = _full_ref(ref)
    found = sorted((n, s) for n, s in gitrepo.refs(target.path).items() if n.startswith(prefix))
    return respond([emu.shapes.git_ref(target, name, sha) for name, sha in found])


@router.get("/repos/{owner}/{repo}/git/refs", name="git/list-refs")
async def list_refs(
    owner: str, repo: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = readable_repo(emu, caller, owner, repo)
    found = sorted(gitrepo.refs(target.path).items())
    return paginate(emu, request, [emu.shapes.git_ref(target, n, s) for n, s in found])


@router.post("/repos/{owner}/{repo}/git/refs", name="git/create-ref")
async def create_ref(
    owner: str, repo: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = writable_repo(emu, caller, owner, repo, "contents")
    body = await json_object(request)
    ref, sha = body.get("ref"), body.get("sha")
    if not isinstance(ref, str) or not ref:
        raise missing_field("Reference", "ref")
    if not isinstance(sha, str) or not sha:
        raise missing_field("Reference", "sha")
    if not ref.startswith("refs/") or ref.count("/") < 2:
        raise GitHubError(
            422,
            "Reference name must start with 'refs/' and have at least two slashes.",
            documentation_url=f"{REFS_DOCS}#create-a-reference",
        )
    if gitrepo.object_type(target.path, sha) is None:
        raise GitHubError(
            422, "Object does not exist", documentation_url=f"{REFS_DOCS}#create-a-reference"
        )
    if ref in gitrepo.refs(target.path, ref):
        raise GitHubError(
            422, "Reference already exists", documentation_url=f"{REFS_DOCS}#create-a-reference"
        )
    gitrepo.update_ref(target.path, ref, sha)
    record_push(emu, target, actor_of(caller), {ref: (None, sha)})
    return respond(emu.shapes.git_ref(target, ref, sha), status=201)


@router.patch("/repos/{owner}/{repo}/git/refs/{ref:path}", name="git/update-ref")
async def update_ref(
    owner: str, repo: str, ref: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = writable_repo(emu, caller, owner, repo, "contents")
    body = await json_object(request)
    sha = body.get("sha")
    if not isinstance(sha, str) or not sha:
        raise missing_field("Reference", "sha")
    full = _full_ref(ref)
    old = gitrepo.refs(target.path, full).get(full)
    if old is None:
        raise GitHubError(
            422, "Reference does not exist", documentation_url=f"{REFS_DOCS}#update-a-reference"
        )
    if gitrepo.object_type(target.path, sha) is None:
        raise GitHubError(
            422, "Object does not exist", documentation_url=f"{REFS_DOCS}#update-a-reference"
        )
    if not body.get("force") and not gitrepo.is_ancestor(target.path, old, sha):
        raise GitHubError(
            422, "Update is not a fast forward", documentation_url=f"{REFS_DOCS}#update-a-reference"
        )
    gitrepo.update_ref(target.path, full, sha, old)
    record_push(emu, target, actor_of(caller), {full: (old, sha)})
    return respond(emu.shapes.git_ref(target, full, sha))


@router.delete("/repos/{owner}/{repo}/git/refs/{ref:path}", name="git/delete-ref")
async def delete_ref(owner: str, repo: str, ref: str, emu: EmuDep, caller: CallerDep) -> object:
    target = writable_repo(emu, caller, owner, repo, "contents")
    full = _full_ref(ref)
    old = gitrepo.refs(target.path, full).get(full)
    if old is None:
        raise GitHubError(
            422, "Reference does not exist", documentation_url=f"{REFS_DOCS}#delete-a-reference"
        )
    gitrepo.delete_ref(target.path, full)
    record_push(emu, target, actor_of(caller), {full: (old, None)})
    return no_content()


@router.get(
    "/repos/{owner}/{repo}/collaborators/{username}/permission",
    name="repos/get-collaborator-permission-level",
)
async def collaborator_permission(
    owner: str, repo: str, username: str, emu: EmuDep, caller: CallerDep
) -> object:
    target = readable_repo(emu, caller, owner, repo)
    user = emu.world.user(username)
    if user is None:
        raise not_found()
    role = target.role_of(user.login)
    if role is None and not target.private:
        role = "read"
    permission = {"admin": "admin", "maintain": "write", "write": "write"}.get(
        role or "", "read" if role else "none"
    )
    collaborator = emu.shapes.user(user)
    collaborator["permissions"] = role_permissions(role)
    collaborator["role_name"] = role or "none"
    return respond({"permission": permission, "role_name": role or "none", "user": collaborator})


@router.get("/repos/{owner}/{repo}/collaborators/{username}", name="repos/check-collaborator")
async def check_collaborator(
    owner: str, repo: str, username: str, emu: EmuDep, caller: CallerDep
) -> object:
    target = readable_repo(emu, caller, owner, repo)
    user = emu.world.user(username)
    if user is None or target.role_of(user.login) is None:
        raise not_found()
    return no_content()
