"""Puts the dashboard on the App: its routes, its static files and the access rules for every
request (`create_app` calls `mount` once)."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.api.health import PATH as HEALTH_PATH
from app.api.work_orders import PREFIX as WORK_ORDERS_PREFIX
from app.dashboard import oauth, routes
from app.dashboard.access import Access, AccessMiddleware
from app.dashboard.assistant import routes as assistant_routes
from app.dashboard.oauth import GitHubOAuth
from app.dashboard.pages import STATIC
from app.settings import AppSettings
from app.webhooks.route import PATH as WEBHOOK_PATH

STATIC_DIR = Path(__file__).resolve().parent / "static"


def oauth_for(settings: AppSettings) -> GitHubOAuth | None:
    """Sign-in through GitHub, when the App's OAuth credentials are set."""
    if settings.github_client_id is None or settings.github_client_secret is None:
        return None
    secret = settings.dashboard_session_secret
    return GitHubOAuth(
        client_id=settings.github_client_id,
        client_secret=settings.github_client_secret.get_secret_value(),
        web_url=settings.github_web(),
        api_url=settings.github_api_url,
        key=secret.get_secret_value().encode() if secret is not None else secrets.token_bytes(32),
        public_url=settings.public_url,
    )


def access_for(settings: AppSettings) -> Access:
    password = settings.dashboard_password
    return Access(
        allow_remote=settings.allow_remote,
        user=settings.dashboard_user,
        password=password.get_secret_value() if password is not None else None,
        # answered before the middleware anyway; it checks its own signature
        exempt_paths=frozenset({WEBHOOK_PATH, oauth.LOGIN_PATH, oauth.CALLBACK_PATH}),
        exempt_prefixes=(WORK_ORDERS_PREFIX,),  # remote sessions: one-time bearer tokens
        brief_paths=frozenset({HEALTH_PATH}),  # probes: the status, details after sign-in
        oauth=oauth_for(settings) if settings.allow_remote else None,
    )


def mount(app: FastAPI, settings: AppSettings) -> None:
    app.state.dashboard_access = access_for(settings)
    if app.state.dashboard_access.oauth is not None:
        app.state.dashboard_oauth = app.state.dashboard_access.oauth
        app.include_router(oauth.router)
    app.include_router(routes.router)
    app.include_router(assistant_routes.router)
    app.mount(STATIC, StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    app.add_middleware(AccessMiddleware, access=app.state.dashboard_access)
