"""The dashboard's routes: three pages, their JSON API under `/api/dashboard/`, a job's log as
Server-Sent Events, and the Start / Stop / Retry commands. Who is asking was settled by
`access.AccessMiddleware` before any of these run (`request.state.principal`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.dashboard import actions, feed, pages, queries
from app.dashboard.access import LOCAL_PRINCIPAL, Access, GitHubLogin
from app.dashboard.gate import Gate
from app.dashboard.stream import StreamTiming, job_stream
from app.state import State

router = APIRouter()

Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]


def _principal(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, str) else LOCAL_PRINCIPAL


def _access(request: Request) -> Access:
    access: Access = request.app.state.dashboard_access
    return access


def _page(request: Request, **kwargs: Any) -> HTMLResponse:
    principal = _principal(request)
    html = pages.shell(
        csrf_token=_access(request).csrf_token(principal), principal=principal, **kwargs
    )
    return HTMLResponse(html, headers=pages.SECURITY_HEADERS)


# -- pages ----------------------------------------------------------------------------------


@router.get("/", include_in_schema=False)
def home_page(request: Request) -> HTMLResponse:
    return _page(request, page="home", title="Repositories")


@router.get("/repos/{owner}/{repo}", include_in_schema=False)
def board_page(request: Request, owner: Name, repo: Name) -> HTMLResponse:
    repository = f"{owner}/{repo}"
    return _page(
        request,
        page="board",
        title=repository,
        crumbs=((repository, None),),
        data={"repository": repository},
    )


@router.get("/jobs/{job_id}", include_in_schema=False)
def session_page(request: Request, job_id: int, state: State) -> HTMLResponse:
    with state.database.sessions() as db:
        job = queries.job_json(db, job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    repository = str(job["repository"])
    return _page(
        request,
        page="session",
        title=f"#{job['issue_number']} · job {job_id}",
        crumbs=((repository, f"/repos/{repository}"), (f"job {job_id}", None)),
        data={"repository": repository, "job": str(job_id)},
    )


# -- JSON API -------------------------------------------------------------------------------


@router.get("/api/dashboard/installations")
def list_installations(request: Request, state: State) -> dict[str, Any]:
    with state.database.sessions() as db:
        found = queries.installations(db)
    principal = _principal(request)
    if isinstance(principal, GitHubLogin):  # only the repositories they can write to
        gate = Gate(state.database.sessions, state.github)
        found = queries.only_repositories(found, lambda name: gate.can_write(principal, name))
    return {"installations": found}


@router.get("/api/dashboard/repos/{owner}/{repo}/board")
def get_board(owner: Name, repo: Name, state: State) -> dict[str, Any]:
    with state.database.sessions() as db:
        board = queries.board_json(queries.board_of(db, f"{owner}/{repo}"))
        return {**board, "graph": queries.graph_of(db, f"{owner}/{repo}")}


@router.get("/api/dashboard/jobs/{job_id}")
def get_job(job_id: int, state: State) -> dict[str, Any]:
    with state.database.sessions() as db:
        job = queries.job_json(db, job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    return job


@router.get("/api/dashboard/jobs/{job_id}/events")
async def job_events(request: Request, job_id: int, state: State) -> StreamingResponse:
    """The job's log as Server-Sent Events, after `Last-Event-ID` (`attempt:seq`)."""
    cursor = feed.Cursor.parse(request.headers.get("last-event-id"))
    timing: StreamTiming = getattr(request.app.state, "dashboard_stream", StreamTiming())
    return StreamingResponse(
        job_stream(state.database.sessions, job_id, cursor, request.is_disconnected, timing),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


@router.post("/api/dashboard/repos/{owner}/{repo}/issues/{number}/{command}")
async def run_command(
    request: Request, owner: Name, repo: Name, number: int, command: actions.Command, state: State
) -> dict[str, Any]:
    """Start, stop or retry the issue's session, as the signed-in person."""
    repository = f"{owner}/{repo}"
    with state.database.sessions() as db:
        row = queries.repository(db, repository)
        if row is None:
            raise HTTPException(404, f"autocoder does not know {repository}")
        target = actions.Target(repository, number, row.installation_id)
    outcome = await run_in_threadpool(
        actions.apply_command, state.handler, command, target, _principal(request)
    )
    return {"status": outcome.status, "detail": outcome.detail, "job_id": outcome.job_id}
