"""Check runs: create, update, get, list for a ref, re-request; annotations; check suites."""

from __future__ import annotations

from fastapi import APIRouter, Request

from .. import gitrepo
from ..auth import Caller, require, require_read
from ..errors import GitHubError, invalid_field, not_found
from ..service import checks as svc
from .common import CallerDep, EmuDep, actor_of, json_object, page_of, paginate, respond

router = APIRouter()

RUN = "/repos/{owner}/{repo}/check-runs/{run_id:int}"


def _app_id(caller: Caller) -> int:
    if caller.kind != "installation" or caller.app is None:
        raise GitHubError(403, "You must authenticate via a GitHub App.")
    return caller.app.id


@router.post("/repos/{owner}/{repo}/check-runs", name="checks/create")
async def create_check_run(
    owner: str, repo: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    app_id = _app_id(caller)
    require(caller, target, "checks")
    body = await json_object(request)
    run = svc.create_check_run(emu, target, actor_of(caller), app_id, body)
    return respond(emu.shapes.check_run(target, run), status=201)


@router.get(RUN, name="checks/get")
async def get_check_run(
    owner: str, repo: str, run_id: int, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    return respond(emu.shapes.check_run(target, svc.run_of(target, run_id)))


@router.patch(RUN, name="checks/update")
async def update_check_run(
    owner: str, repo: str, run_id: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    app_id = _app_id(caller)
    require(caller, target, "checks")
    run = svc.run_of(target, run_id)
    body = await json_object(request)
    svc.update_check_run(emu, target, run, actor_of(caller), app_id, body)
    return respond(emu.shapes.check_run(target, run))


@router.post(RUN + "/rerequest", name="checks/rerequest-run")
async def rerequest_check_run(
    owner: str, repo: str, run_id: int, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    _app_id(caller)
    require(caller, target, "checks")
    svc.rerequest(emu, target, svc.run_of(target, run_id), actor_of(caller))
    return respond({}, status=201)


@router.get(RUN + "/annotations", name="checks/list-annotations")
async def list_annotations(
    owner: str, repo: str, run_id: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    run = svc.run_of(target, run_id)
    blob = f"{emu.base_url}/{target.full_name}/blob/{run.head_sha}"
    items = []
    for note in run.annotations:
        items.append(
            {
                "path": note.get("path"),
                "start_line": note.get("start_line"),
                "end_line": note.get("end_line"),
                "start_column": note.get("start_column"),
                "end_column": note.get("end_column"),
                "annotation_level": note.get("annotation_level"),
                "title": note.get("title"),
                "message": note.get("message"),
                "raw_details": note.get("raw_details"),
                "blob_href": f"{blob}/{note.get('path')}",
            }
        )
    return paginate(emu, request, items)


@router.get("/repos/{owner}/{repo}/commits/{ref:path}/check-runs", name="checks/list-for-ref")
async def list_for_ref(
    owner: str, repo: str, ref: str, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    sha = gitrepo.resolve_ref_or_sha(target.path, ref)
    if sha is None:
        raise GitHubError(422, f"No commit found for SHA: {ref}")
    params = request.query_params
    runs = [r for r in target.check_runs.values() if r.head_sha == sha]
    if params.get("check_name"):
        runs = [r for r in runs if r.name == params["check_name"]]
    status = params.get("status")
    if status:
        if status not in ("queued", "in_progress", "completed"):
            raise invalid_field("CheckRun", "status")
        runs = [r for r in runs if r.status == status]
    if params.get("app_id"):
        runs = [r for r in runs if str(r.app_id) == params["app_id"]]
    runs.sort(key=lambda r: r.id, reverse=True)
    filter_ = params.get("filter", "latest")
    if filter_ not in ("latest", "all"):
        raise invalid_field("CheckRun", "filter")
    if filter_ == "latest":
        seen: set[tuple[int, str]] = set()
        latest = []
        for run in runs:
            if (run.app_id, run.name) not in seen:
                seen.add((run.app_id, run.name))
                latest.append(run)
        runs = latest
    page, headers = page_of(emu, request, [emu.shapes.check_run(target, r) for r in runs])
    return respond({"total_count": len(runs), "check_runs": page}, headers=headers)


@router.get("/repos/{owner}/{repo}/check-suites/{suite_id:int}", name="checks/get-suite")
async def get_suite(owner: str, repo: str, suite_id: int, emu: EmuDep, caller: CallerDep) -> object:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    suite = target.check_suites.get(suite_id)
    if suite is None:
        raise not_found()
    return respond(emu.shapes.check_suite(target, suite))
