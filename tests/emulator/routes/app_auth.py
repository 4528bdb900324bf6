"""GitHub App authentication: the app (JWT), its installations and installation tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..auth import Caller, installed_on, mint_installation_token
from ..clock import iso
from ..errors import GitHubError, invalid_field, not_found, validation_failed
from ..state import App, Installation
from .common import CallerDep, EmuDep, json_object, page_of, paginate, respond

router = APIRouter()


def _app_caller(caller: Caller) -> App:
    """The app a JWT authenticates; GitHub answers other credentials with this 401."""
    if caller.kind != "jwt" or caller.app is None:
        raise GitHubError(401, "A JSON web token could not be decoded")
    return caller.app


@router.get("/app", name="apps/get-authenticated")
async def get_app(emu: EmuDep, caller: CallerDep) -> object:
    return respond(emu.shapes.app(_app_caller(caller)))


@router.get("/app/installations", name="apps/list-installations")
async def list_installations(request: Request, emu: EmuDep, caller: CallerDep) -> object:
    app = _app_caller(caller)
    items = [
        emu.shapes.installation(i) for i in emu.world.installations.values() if i.app_id == app.id
    ]
    return paginate(emu, request, items)


def _installation(emu: EmuDep, app: App, installation_id: int) -> Installation:
    inst = emu.world.installations.get(installation_id)
    if inst is None or inst.app_id != app.id:
        raise not_found()
    return inst


@router.get("/app/installations/{installation_id}", name="apps/get-installation")
async def get_installation(installation_id: int, emu: EmuDep, caller: CallerDep) -> object:
    inst = _installation(emu, _app_caller(caller), installation_id)
    return respond(emu.shapes.installation(inst))


@router.post(
    "/app/installations/{installation_id}/access_tokens",
    name="apps/create-installation-access-token",
)
async def create_token(
    installation_id: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    inst = _installation(emu, _app_caller(caller), installation_id)
    body = await json_object(request)
    repo_ids: list[int] | None = None
    names = body.get("repositories")
    ids = body.get("repository_ids")
    if names is not None or ids is not None:
        repo_ids = []
        for name in names or []:
            repo = emu.world.repo(inst.account.login, str(name))
            if repo is None or repo.id not in inst.repo_ids:
                raise validation_failed(
                    message="There is at least one repository that does not exist or is not "
                    "accessible to the parent installation."
                )
            repo_ids.append(repo.id)
        for number in ids or []:
            if number not in inst.repo_ids:
                raise validation_failed(
                    message="There is at least one repository that does not exist or is not "
                    "accessible to the parent installation."
                )
            repo_ids.append(int(number))
    permissions = body.get("permissions")
    if permissions is not None:
        if not isinstance(permissions, dict):
            raise invalid_field("InstallationToken", "permissions")
        order = {"read": 1, "write": 2}
        for key, level in permissions.items():
            granted = inst.permissions.get(key)
            if granted is None or order.get(level, 9) > order.get(granted, 0):
                raise GitHubError(
                    422,
                    "The permissions requested are not granted to this installation.",
                )
    token = mint_installation_token(emu.world, emu.clock, inst, repo_ids, permissions)
    data: dict[str, object] = {
        "token": token.value,
        "expires_at": iso(token.expires_at),
        "permissions": dict(token.permissions),
        "repository_selection": "selected",
    }
    if repo_ids is not None:
        data["repositories"] = [
            emu.shapes.repo(r) for r in (emu.world.repo_by_id(i) for i in repo_ids) if r
        ]
    return respond(data, status=201)


@router.get("/repos/{owner}/{repo}/installation", name="apps/get-repo-installation")
async def repo_installation(owner: str, repo: str, emu: EmuDep, caller: CallerDep) -> object:
    app = _app_caller(caller)
    target = emu.world.repo(owner, repo)
    if target is None:
        raise not_found()
    for inst in emu.world.installations_for(target):
        if inst.app_id == app.id:
            return respond(emu.shapes.installation(inst))
    raise not_found()


@router.get("/installation/repositories", name="apps/list-repos-accessible-to-installation")
async def installation_repositories(request: Request, emu: EmuDep, caller: CallerDep) -> object:
    if caller.kind != "installation" or caller.installation is None:
        raise GitHubError(403, "This endpoint can only be accessed with an installation token")
    repos = [
        r
        for r in (emu.world.repo_by_id(i) for i in caller.installation.repo_ids)
        if r is not None and installed_on(caller, r)
    ]
    page, headers = page_of(emu, request, [emu.shapes.repo(r, role="write") for r in repos])
    data = {"total_count": len(repos), "repository_selection": "selected", "repositories": page}
    return respond(data, headers=headers)
