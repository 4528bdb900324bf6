"""`create_app(settings)`: the App server, assembled. Nothing happens at import.

`create_app` opens the database (running migrations) and builds the routes; the FastAPI lifespan
starts the workers and the periodic reconcile, and stops them on shutdown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from app.api import features, health, metrics_route
from app.db.engine import open_database
from app.github_app import AppGitHub
from app.metrics import Metrics
from app.reconcile import ReconcileLoop, ReconcileResult, reconcile_repository
from app.settings import REGISTER_APP_HELP, AppSettings
from app.state import AppState
from app.webhooks import route as webhook_route
from app.webhooks.handler import DeliveryHandler

_log = logging.getLogger(__name__)


def build_state(settings: AppSettings) -> AppState:
    database = open_database(settings.database_url)
    metrics = Metrics(database.sessions)
    github: AppGitHub | None = None
    private_key = settings.private_key_pem()
    if settings.github_app_id is not None and private_key is not None:
        github = AppGitHub(
            settings.github_app_id,
            private_key,
            settings.github_api_url,
            request_hook=metrics.github_request_hook,
        )
    handler = DeliveryHandler(database.sessions, settings, github)
    state = AppState(settings, database, metrics, github, handler)
    if github is not None:

        def run_once(repository: str, installation_id: int) -> ReconcileResult:
            assert github is not None
            return reconcile_repository(
                database.sessions,
                github.rest,
                repository,
                installation_id=installation_id,
                token=github.token_source(installation_id),
                trigger_label=settings.trigger_label,
            )

        def count(result: ReconcileResult) -> None:
            outcome = (
                "failed" if result.error else "not_modified" if result.not_modified else "changed"
            )
            metrics.reconciles.labels(outcome).inc()

        state.reconcile = ReconcileLoop(
            database.sessions, run_once, settings.reconcile_interval, on_result=count
        )
    return state


def _start_workers(state: AppState, stop: threading.Event) -> Any:
    try:
        from app.worker import start_workers  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        note = f"workers not started: {exc}"
        _log.error(note)
        state.notes.append(note)
        return None
    return start_workers(state.settings, state.database.sessions, stop)


def _stop_workers(pool: Any, stop: threading.Event) -> None:
    stop.set()
    for name in ("stop", "join", "shutdown"):
        method = getattr(pool, name, None)
        if callable(method):
            method()
            return


def create_app(
    settings: AppSettings, *, run_workers: bool = True, run_reconcile: bool = True
) -> FastAPI:
    """The App. `run_workers` / `run_reconcile`: start those threads with the server (tests
    of the routes alone turn them off)."""
    state = build_state(settings)
    missing = settings.missing()
    if missing:
        _log.warning(
            "the GitHub App is not configured (%s missing): webhooks cannot be processed. %s",
            ", ".join(missing),
            REGISTER_APP_HELP,
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        if run_workers:
            state.workers = _start_workers(state, stop)
        if run_reconcile and state.reconcile is not None:
            state.reconcile.start()
        try:
            yield
        finally:
            if state.reconcile is not None:
                state.reconcile.stop()
            if state.workers is not None:
                _stop_workers(state.workers, stop)
                state.workers = None
            if state.github is not None:
                state.github.close()
            state.database.dispose()

    app = FastAPI(
        title="autocoder",
        summary="The self-hosted GitHub App of autocoder",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.autocoder = state
    app.include_router(health.router)
    app.include_router(metrics_route.router)
    app.include_router(webhook_route.router)
    app.include_router(features.router)
    return app
