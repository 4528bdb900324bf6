"""Puts the dashboard on the App: its routes, its static files and the access rules for every
request (`create_app` calls `mount` once)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.api.work_orders import PREFIX as WORK_ORDERS_PREFIX
from app.dashboard import routes
from app.dashboard.access import Access, AccessMiddleware
from app.dashboard.assistant import routes as assistant_routes
from app.dashboard.pages import STATIC
from app.settings import AppSettings
from app.webhooks.route import PATH as WEBHOOK_PATH

STATIC_DIR = Path(__file__).resolve().parent / "static"


def access_for(settings: AppSettings) -> Access:
    password = settings.dashboard_password
    return Access(
        allow_remote=settings.allow_remote,
        user=settings.dashboard_user,
        password=password.get_secret_value() if password is not None else None,
        # answered before the middleware anyway; it checks its own signature
        exempt_paths=frozenset({WEBHOOK_PATH}),
        exempt_prefixes=(WORK_ORDERS_PREFIX,),  # remote sessions: one-time bearer tokens
    )


def mount(app: FastAPI, settings: AppSettings) -> None:
    app.state.dashboard_access = access_for(settings)
    app.include_router(routes.router)
    app.include_router(assistant_routes.router)
    app.mount(STATIC, StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    app.add_middleware(AccessMiddleware, access=app.state.dashboard_access)
