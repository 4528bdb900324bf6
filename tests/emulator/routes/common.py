"""What every REST route needs: the emulator, the caller, JSON bodies, pagination, responses."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from ..auth import ANONYMOUS, Caller, require, require_read
from ..core import Emu
from ..errors import GitHubError, invalid_field, problems_parsing_json
from ..service.issues import Actor
from ..state import Repo

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30


def get_emu(request: Request) -> Emu:
    emu: Emu = request.app.state.emu
    return emu


def get_caller(request: Request) -> Caller:
    caller = request.scope.get("state", {}).get("caller")
    return caller if isinstance(caller, Caller) else ANONYMOUS


EmuDep = Annotated[Emu, Depends(get_emu)]
CallerDep = Annotated[Caller, Depends(get_caller)]


def actor_of(caller: Caller) -> Actor:
    if caller.actor is None:
        raise GitHubError(401, "Requires authentication")
    app_id = caller.app.id if caller.kind == "installation" and caller.app else None
    return Actor(caller.actor, app_id)


def readable_repo(emu: Emu, caller: Caller, owner: str, name: str) -> Repo:
    repo = emu.repo(owner, name)
    require_read(caller, repo)
    return repo


def writable_repo(
    emu: Emu, caller: Caller, owner: str, name: str, permission: str, role: str = "write"
) -> Repo:
    repo = emu.repo(owner, name)
    require(caller, repo, permission, role)  # type: ignore[arg-type]
    return repo


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise problems_parsing_json() from exc


async def json_object(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise problems_parsing_json()
    return body


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


def int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise invalid_field("Request", name) from exc


def paginate(emu: Emu, request: Request, items: list[Any]) -> JSONResponse:
    """One page of `items` as a JSON list with GitHub's `Link` header."""
    chunk, headers = page_of(emu, request, items)
    return respond(chunk, headers=headers)


def page_of(
    emu: Emu, request: Request, items: list[Any]
) -> tuple[list[Any], dict[str, str] | None]:
    """(one page of items, headers with `Link`): `per_page` ≤ 100, `page` from 1."""
    per_page = min(max(int_param(request, "per_page", DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    page = max(int_param(request, "page", 1), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    params = [
        (k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k != "page"
    ]

    def url(number: int) -> str:
        return f"{emu.base_url}{request.url.path}?{urlencode([*params, ('page', str(number))])}"

    links = []
    if page > 1:
        links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
    return chunk, ({"Link": ", ".join(links)} if links else None)
