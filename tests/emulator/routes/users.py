"""Users and the rate-limit overview."""

from __future__ import annotations

from fastapi import APIRouter

from ..errors import GitHubError, forbidden
from .common import CallerDep, EmuDep, respond

router = APIRouter()


@router.get("/user", name="users/get-authenticated")
async def authenticated_user(emu: EmuDep, caller: CallerDep) -> object:
    if caller.kind is None:
        raise GitHubError(401, "Requires authentication")
    if caller.kind != "user" or caller.actor is None:
        raise forbidden()
    return respond(emu.shapes.full_user(caller.actor, private=True))


@router.get("/users/{username}", name="users/get-by-username")
async def get_user(username: str, emu: EmuDep) -> object:
    return respond(emu.shapes.full_user(emu.user(username)))


@router.get("/rate_limit", name="rate-limit/get")
async def rate_limit(emu: EmuDep, caller: CallerDep) -> object:
    bucket = emu.rate_limits.bucket(caller.rate_key, caller.rate_limit)
    core = {
        "limit": bucket.limit,
        "used": bucket.used,
        "remaining": bucket.remaining,
        "reset": bucket.reset,
    }
    hour = bucket.reset

    def fresh(limit: int) -> dict[str, int]:
        return {"limit": limit, "used": 0, "remaining": limit, "reset": hour}

    resources = {
        "core": core,
        "search": fresh(30),
        "graphql": fresh(5000),
        "integration_manifest": fresh(5000),
        "source_import": fresh(100),
        "code_scanning_upload": fresh(1000),
        "actions_runner_registration": fresh(10000),
        "scim": fresh(15000),
        "dependency_snapshots": fresh(100),
        "code_search": fresh(10),
    }
    return respond({"resources": resources, "rate": core})
