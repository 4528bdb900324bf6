"""Git smart HTTP at `/{owner}/{repo}.git/...`, served by `git http-backend` (CGI).

Fetching a private repository and pushing need HTTP basic auth `x-access-token:<token>` (or any
user name with a token as password); without it the answer is 401 with `WWW-Authenticate` so git
sends credentials. After a push, the moved refs become `push` events and PR synchronizations.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from . import gitrepo
from .auth import ANONYMOUS, Caller, git_access, identify
from .core import Emu
from .errors import GitHubError
from .service.issues import Actor
from .service.pulls import record_push

log = logging.getLogger(__name__)

router = APIRouter()

CHUNK = 65536


def _challenge() -> Response:
    return PlainTextResponse(
        "Authentication required\n",
        status_code=401,
        headers={"WWW-Authenticate": 'Basic realm="GitHub"'},
    )


def _is_write(rest: str, service: str | None) -> bool:
    return rest == "git-receive-pack" or (rest == "info/refs" and service == "git-receive-pack")


def _cgi_env(
    emu: Emu, request: Request, path_info: str, body: bytes, user: str | None
) -> dict[str, str]:
    headers = request.headers
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(emu.state_dir),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_PROJECT_ROOT": str(emu.repos_root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path_info,
        "QUERY_STRING": request.url.query,
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": request.client.host if request.client else "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "GIT_COMMITTER_NAME": "GitHub",
        "GIT_COMMITTER_EMAIL": "noreply@github.com",
    }
    if user:
        env["REMOTE_USER"] = user
    if headers.get("content-encoding"):
        env["HTTP_CONTENT_ENCODING"] = headers["content-encoding"]
    if headers.get("git-protocol"):
        env["GIT_PROTOCOL"] = headers["git-protocol"]
    return env


async def _read_cgi_headers(stdout: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """Parse the CGI header block; return (status, headers, bytes already read past it)."""
    buffer = b""
    while b"\r\n\r\n" not in buffer and b"\n\n" not in buffer:
        chunk = await stdout.read(CHUNK)
        if not chunk:
            break
        buffer += chunk
    sep = b"\r\n\r\n" if b"\r\n\r\n" in buffer else b"\n\n"
    head, _, rest = buffer.partition(sep)
    status = 200
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    return status, headers, rest


@router.api_route(
    "/{owner}/{name}.git/{rest:path}", methods=["GET", "POST"], include_in_schema=False
)
async def git_smart_http(owner: str, name: str, rest: str, request: Request) -> Response:
    emu: Emu = request.app.state.emu
    service = request.query_params.get("service")
    write = _is_write(rest, service)
    try:
        caller: Caller = identify(emu.world, emu.clock, request.headers.get("authorization"))
    except GitHubError:
        return _challenge()
    repo = emu.world.repo(owner, name)
    if repo is None:
        if caller.kind is None:
            return _challenge()
        return PlainTextResponse("Repository not found.\n", status_code=404)
    access = git_access(caller, repo, write)
    if access == "auth":
        return _challenge()
    if access == "hidden":
        return PlainTextResponse("Repository not found.\n", status_code=404)
    if access == "denied":
        who = caller.actor.login if caller.actor else "anonymous"
        return PlainTextResponse(
            f"Permission to {repo.full_name}.git denied to {who}.\n", status_code=403
        )
    body = await request.body()
    before = gitrepo.refs(repo.path) if rest == "git-receive-pack" else None
    user = caller.actor.login if caller.actor else None
    env = _cgi_env(emu, request, f"/{repo.owner.login}/{repo.name}.git/{rest}", body, user)
    proc = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None

    async def feed() -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(body)
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            # The backend closed its stdin first (uvloop says so with a RuntimeError, "handler
            # is closed"): its answer is still streamed; a backend that lacked input fails.
            pass
        finally:
            proc.stdin.close()

    feeder = asyncio.create_task(feed())
    errors = asyncio.create_task(proc.stderr.read())
    status, headers, first = await _read_cgi_headers(proc.stdout)

    async def stream() -> AsyncIterator[bytes]:
        assert proc.stdout is not None
        if first:
            yield first
        while True:
            chunk = await proc.stdout.read(CHUNK)
            if not chunk:
                break
            yield chunk
        await feeder
        code = await proc.wait()
        stderr = (await errors).decode(errors="replace").strip()
        if code != 0 or stderr:
            log.info("git http-backend exited %s: %s", code, stderr)
        if before is not None:
            try:
                _after_push(emu, repo.full_name, before, caller)
            except Exception:
                log.exception("recording the push to %s failed", repo.full_name)

    media_type = headers.pop("Content-Type", None)
    return StreamingResponse(stream(), status_code=status, headers=headers, media_type=media_type)


def _after_push(emu: Emu, full_name: str, before: dict[str, str], caller: Caller) -> None:
    owner, _, name = full_name.partition("/")
    repo = emu.world.repo(owner, name)
    if repo is None or caller is ANONYMOUS or caller.actor is None:
        return
    after = gitrepo.refs(repo.path)
    changes: dict[str, tuple[str | None, str | None]] = {}
    for ref in set(before) | set(after):
        if before.get(ref) != after.get(ref):
            changes[ref] = (before.get(ref), after.get(ref))
    app_id = caller.app.id if caller.kind == "installation" and caller.app else None
    record_push(emu, repo, Actor(caller.actor, app_id), changes)
