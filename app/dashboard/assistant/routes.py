"""The assistant's JSON API under `/api/dashboard/repos/{owner}/{repo}/assistant`: the
conversation (messages and proposals), a new message, and the person's confirm or reject of a
proposed feature change. Access and CSRF are the dashboard's (`app.dashboard.access`)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.dashboard import queries
from app.dashboard.assistant.access import (
    AssistantUnavailable,
    RepositoryAccess,
    provider_for,
    write_tools,
)
from app.dashboard.assistant.loop import take_turn
from app.dashboard.assistant.proposals import CONFIRMED, FAILED, REJECTED
from app.dashboard.assistant.store import ConversationStore
from app.dashboard.routes import Name, _principal
from app.state import AppState, State
from runner.engines.base import EngineError
from runner.tools.result import ToolError
from runner.workspace.mirror import MirrorCache

log = logging.getLogger(__name__)
router = APIRouter()
BASE = "/api/dashboard/repos/{owner}/{repo}/assistant"


class Said(BaseModel):
    text: str = Field(min_length=1, max_length=8000)


def _store(request: Request, state: AppState, repository: str) -> ConversationStore:
    return ConversationStore(state.database.sessions, repository, _principal(request))


def _access(state: AppState, repository: str) -> RepositoryAccess:
    with state.database.sessions() as db:
        row = queries.repository(db, repository)
    if row is None:
        raise HTTPException(404, f"autocoder does not know {repository}")
    if state.github is None or row.installation_id is None:
        raise HTTPException(503, "the assistant needs the GitHub App's credentials")
    runner = state.config.runner if state.config is not None else None
    return RepositoryAccess(
        state.github,
        repository,
        row.installation_id,
        MirrorCache(runner.cache_dir if runner is not None else None),
    )


def _conversation(store: ConversationStore) -> dict[str, Any]:
    shown = [
        {"role": m["role"], "content": m.get("content") or "", "tools": _calls(m)}
        for m in store.messages()
        if m.get("role") in ("user", "assistant")
    ]
    return {"messages": shown, "proposals": store.proposals()}


def _calls(message: dict[str, Any]) -> list[str]:
    return [str(c["function"]["name"]) for c in message.get("tool_calls") or ()]


@router.get(BASE)
def get_conversation(request: Request, owner: Name, repo: Name, state: State) -> dict[str, Any]:
    return _conversation(_store(request, state, f"{owner}/{repo}"))


@router.post(BASE + "/messages")
async def say(
    request: Request, owner: Name, repo: Name, said: Said, state: State
) -> dict[str, Any]:
    repository = f"{owner}/{repo}"
    store = _store(request, state, repository)
    access = _access(state, repository)
    try:
        if state.config is None:
            raise AssistantUnavailable("the server has no runner settings")
        provider = provider_for(state.config.runner)
    except AssistantUnavailable as error:
        raise HTTPException(503, str(error)) from error
    specs, close = await run_in_threadpool(access.feature_specs)
    try:
        await take_turn(
            said.text,
            repository=repository,
            store=store,
            provider=provider,
            reader=access.reader,
            write_tools=write_tools(specs),
            correlation_id=uuid.uuid4().hex,
        )
    except EngineError as error:
        store.append({"role": "assistant", "content": f"(the model failed: {error})"})
    finally:
        await provider.aclose()
        close()
    return _conversation(store)


@router.post(BASE + "/proposals/{proposal_id}/{decision}")
async def decide(
    request: Request, owner: Name, repo: Name, proposal_id: int, decision: str, state: State
) -> dict[str, Any]:
    """`confirm` writes the proposed change to GitHub (once); `reject` drops it."""
    if decision not in ("confirm", "reject"):
        raise HTTPException(404, "decide with confirm or reject")
    repository = f"{owner}/{repo}"
    store = _store(request, state, repository)
    if decision == "reject":
        claimed = await run_in_threadpool(store.claim, proposal_id)
        if claimed is None:
            raise HTTPException(409, f"change {proposal_id} is not waiting for a decision")
        store.record(proposal_id, REJECTED, None)
        store.append({"role": "user", "content": f"(I rejected change {proposal_id}.)"})
        return _conversation(store)
    access = _access(state, repository)
    claimed = await run_in_threadpool(store.claim, proposal_id)
    if claimed is None:
        raise HTTPException(409, f"change {proposal_id} is not waiting for a decision")
    specs, close = await run_in_threadpool(access.feature_specs)
    try:
        [spec] = [s for s in specs if s.name == claimed.tool]
        answer = await run_in_threadpool(lambda: spec.handler(**claimed.arguments))
        result, status = (answer if isinstance(answer, str) else str(answer)), CONFIRMED
    except (ToolError, TypeError, ValueError) as error:
        result, status = f"error: {error}", FAILED
    finally:
        close()
    store.record(proposal_id, status, result)
    store.append(
        {"role": "user", "content": f"(I confirmed change {proposal_id}; GitHub: {result[:2000]})"}
    )
    return _conversation(store)
