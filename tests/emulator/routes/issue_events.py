"""The events of an issue (`GET …/issues/{n}/events`) and its timeline (`…/timeline`).

Both list the issue's `labeled` and `unlabeled` events, oldest first, paginated like GitHub,
each with the `actor` who made the change (an app's bot, with `performed_via_github_app`, when
an installation made it). The timeline holds the same label events (GitHub's also interleaves
comments, commits and references; autocoder reads none of those here).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..auth import require_read
from ..clock import iso
from ..core import Emu
from ..service import issues as svc
from ..state import IssueEvent, Repo
from .common import CallerDep, EmuDep, paginate

router = APIRouter()


def issue_event_shape(emu: Emu, repo: Repo, event: IssueEvent) -> dict[str, Any]:
    """One event as GitHub's `labeled-issue-event` / `unlabeled-issue-event` schema has it."""
    app = emu.world.apps.get(event.app_id) if event.app_id is not None else None
    return {
        "id": event.id,
        "node_id": event.node_id,
        "url": f"{emu.base_url}/repos/{repo.full_name}/issues/events/{event.id}",
        "actor": emu.shapes.user(event.actor),
        "event": event.event,
        "commit_id": None,
        "commit_url": None,
        "created_at": iso(event.created_at),
        "performed_via_github_app": emu.shapes.app(app) if app is not None else None,
        "label": {"name": event.label_name, "color": event.label_color},
    }


def _events(emu: Emu, caller: CallerDep, owner: str, repo: str, number: int) -> list[Any]:
    target = emu.repo(owner, repo)
    require_read(caller, target)
    issue = svc.issue_of(target, number)
    return [issue_event_shape(emu, target, event) for event in issue.events]


@router.get("/repos/{owner}/{repo}/issues/{number:int}/events", name="issues/list-events")
async def list_events(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    return paginate(emu, request, _events(emu, caller, owner, repo, number))


@router.get(
    "/repos/{owner}/{repo}/issues/{number:int}/timeline", name="issues/list-events-for-timeline"
)
async def list_timeline(
    owner: str, repo: str, number: int, request: Request, emu: EmuDep, caller: CallerDep
) -> object:
    return paginate(emu, request, _events(emu, caller, owner, repo, number))
