"""The web pages behind the `html_url`s the emulator hands out, so the links autocoder writes
(issue, pull request, check run) open in a browser.

`/{owner}/{repo}/issues/{n}` (comments anchored `#issuecomment-<id>`), `/{owner}/{repo}/pull/{n}`
(with its diff), `/{owner}/{repo}/pull/{n}.diff` (the raw diff, like GitHub's `diff_url`) and
`/{owner}/{repo}/runs/{id}`. Like the control API they need no sign-in (the emulator is a local
test bench) and stay out of the REST request log and rate limits (see `PAGE_PATH`).
"""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from .. import gitrepo, html_pages
from ..core import Emu
from ..service.checks import run_of
from ..service.issues import issue_of
from ..service.pulls import pull_of
from ..state import PullRequest, Repo
from .common import EmuDep

router = APIRouter()

PAGE_PATH = re.compile(r"^/[^/]+/[^/]+/(issues|pull|runs)/[0-9]+(\.diff)?$")
"""Paths of these pages; the API middleware lets them through untouched (no REST path has
this shape: REST paths of repositories start with `/repos/`)."""

_HEADERS = {"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'"}


def _html(text: str) -> HTMLResponse:
    return HTMLResponse(text, headers=_HEADERS)


def _comments(emu: Emu, repo: Repo, number: int) -> list[html_pages.Json]:
    issue = repo.issues[number]
    found = (repo.comments.get(i) for i in issue.comment_ids)
    return [emu.shapes.comment(repo, c) for c in found if c is not None]


def _diff(repo: Repo, pull: PullRequest) -> str:
    base = gitrepo.resolve(repo.path, f"refs/heads/{pull.base_ref}") or pull.base_sha
    try:
        return gitrepo.git(repo.path, "diff", "--no-color", f"{base}...{pull.head_sha}")
    except gitrepo.GitError:
        return ""


@router.get("/{owner}/{repo}/issues/{number:int}", name="html/issue", include_in_schema=False)
async def issue(owner: str, repo: str, number: int, emu: EmuDep) -> Response:
    target = emu.repo(owner, repo)
    item = issue_of(target, number)
    if item.is_pull:
        return RedirectResponse(f"/{target.full_name}/pull/{number}", status_code=302)
    mention = re.compile(rf"#{number}\b")
    mentions = [
        emu.shapes.issue(target, target.issues[p.number])
        for p in target.pulls.values()
        if mention.search(target.issues[p.number].body or "")
    ]
    page = html_pages.issue_page(
        target.full_name,
        emu.shapes.issue(target, item),
        _comments(emu, target, number),
        mentions,
    )
    return _html(page)


@router.get(
    "/{owner}/{repo}/pull/{number:int}.diff", name="html/pull-diff", include_in_schema=False
)
async def pull_diff(owner: str, repo: str, number: int, emu: EmuDep) -> Response:
    target = emu.repo(owner, repo)
    return PlainTextResponse(_diff(target, pull_of(target, number)))


@router.get("/{owner}/{repo}/pull/{number:int}", name="html/pull", include_in_schema=False)
async def pull(owner: str, repo: str, number: int, emu: EmuDep) -> Response:
    target = emu.repo(owner, repo)
    item = pull_of(target, number)
    runs = [
        emu.shapes.check_run(target, r)
        for r in target.check_runs.values()
        if r.head_sha == item.head_sha
    ]
    page = html_pages.pull_page(
        target.full_name,
        emu.shapes.pull(target, item),
        _comments(emu, target, number),
        _diff(target, item),
        runs,
    )
    return _html(page)


@router.get("/{owner}/{repo}/runs/{run_id:int}", name="html/check-run", include_in_schema=False)
async def check_run(owner: str, repo: str, run_id: int, emu: EmuDep) -> Response:
    target = emu.repo(owner, repo)
    run = emu.shapes.check_run(target, run_of(target, run_id))
    return _html(html_pages.check_run_page(target.full_name, run))
