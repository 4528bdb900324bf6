"""`GET /healthz`: whether the server can do its job, and what to set when it cannot.

`status`: `ok`; `degraded` (webhooks are taken but no session can run: the engine's model is
not configured, `engine.problem` says what to set); `unconfigured` (the GitHub App's identity is
missing); `failing` (the database is unreachable: 503).

Anyone may ask (a load balancer's or Kubernetes' probe, from another machine, without sign-in);
a request the dashboard's access rules would refuse gets the status alone (`{"status": ...}`,
same HTTP status): what is missing or failing, and why, is for those who may sign in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.settings import REGISTER_APP_HELP
from app.state import State

router = APIRouter()

PATH = "/healthz"


@router.get(PATH)
def healthz(state: State, request: Request) -> JSONResponse:
    body: dict[str, Any] = {"status": "ok"}
    try:
        with state.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        body["database"] = "ok"
    except Exception as exc:
        body["database"] = f"unavailable: {type(exc).__name__}"
        body["status"] = "failing"
    missing = state.settings.missing()
    if missing:
        body["status"] = "unconfigured" if body["status"] == "ok" else body["status"]
        body["github_app"] = {"configured": False, "missing": missing, "help": REGISTER_APP_HELP}
    else:
        body["github_app"] = {"configured": True, "app_id": state.settings.github_app_id}
    problem = state.engine.problem() if state.engine is not None else None
    if problem is not None:
        body["status"] = "degraded" if body["status"] == "ok" else body["status"]
        body["engine"] = {"ready": False, "problem": problem}
    else:
        engine = state.config.runner.engine if state.config is not None else None
        body["engine"] = {"ready": True, "name": engine}
    body["workers"] = "running" if state.workers is not None else "stopped"
    if state.notes:
        body["notes"] = list(state.notes)
    code = 503 if body["status"] == "failing" else 200
    if getattr(request.state, "principal", None) is None:  # not signed in: in brief
        body = {"status": body["status"]}
    return JSONResponse(body, status_code=code)
