"""`create_app(settings)`: the App server, assembled. Nothing happens at import.

`create_app` opens the database (running migrations), checks the engine (`runner.preflight`:
a server without a model says so in its log and in `/healthz`) and builds the routes; the
FastAPI lifespan starts the workers and the periodic reconcile, and stops them on shutdown.
`autocoder serve` starts the workers itself once the port is bound (`start_workers`), so no
session runs for a server that could not listen.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import features, health, metrics_route, work_orders
from app.config import ServeConfig
from app.dashboard.mount import mount as mount_dashboard
from app.db.engine import open_database
from app.executors.base import Executor
from app.executors.remote_orders import Deadlines, RemoteOrders
from app.gc_settle import settle_garbage_collector
from app.github_app import AppGitHub
from app.metrics import Metrics
from app.reconcile import ReconcileLoop, ReconcileResult, reconcile_repository
from app.sequence.graph_reconcile import GraphETags
from app.sequence.loop import SequenceLoop
from app.sequence.notify import Notifier
from app.settings import REGISTER_APP_HELP, AppSettings
from app.state import AppState
from app.webhooks import route as webhook_route
from app.webhooks.handler import DeliveryHandler
from app.worker.engine_gate import EngineGate
from app.worker.pool import WorkerPool
from runner.preflight import engine_problem

_log = logging.getLogger(__name__)


def build_state(settings: AppSettings) -> AppState:
    database = open_database(settings.database_url, background_checkpoints=True)
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
        graph_etags = GraphETags()

        def run_once(repository: str, installation_id: int) -> ReconcileResult:
            assert github is not None
            return reconcile_repository(
                database.sessions,
                github,
                repository,
                installation_id=installation_id,
                trigger_label=settings.trigger_label,
                graph_etags=graph_etags,
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


def start_workers(app: FastAPI) -> WorkerPool:
    """Start the App's workers (`autocoder serve` calls this once the port is bound)."""
    from app.worker import start_workers as start_pool

    state: AppState = app.state.autocoder
    if state.config is None:
        raise RuntimeError("start_workers needs an App made by create_app")
    pool = start_pool(
        state.config,
        state.database.sessions,
        state.stop,
        engine_gate=state.engine,
        executor=remote_executor(app),
        github=state.github,
        metrics=state.metrics,
    )
    state.workers = pool
    if state.github is not None:  # GET /app once now, not while the first webhook waits
        threading.Thread(target=_learn_bot_login, args=(state.github,), daemon=True).start()
    return pool


def _learn_bot_login(github: AppGitHub) -> None:
    try:
        github.bot_login()
    except Exception as error:  # the first webhook asks again
        _log.warning("could not read the GitHub App (GET /app): %s", error)


def remote_executor(app: FastAPI) -> Executor | None:
    """The `actions` executor, bound to the work orders this App serves (issue #16); None:
    the pool makes its own (local, docker)."""
    state: AppState = app.state.autocoder
    orders: RemoteOrders | None = getattr(app.state, "remote_orders", None)
    if orders is None:
        return None
    from app.executors.actions import actions_executor

    return actions_executor(state.settings, orders, state.database.sessions)


def sequence_loop(state: AppState) -> SequenceLoop:
    settings = state.settings
    notifier = None
    if settings.notify_url:
        secret = settings.notify_secret.get_secret_value() if settings.notify_secret else None
        notifier = Notifier(settings.notify_url, secret)
    return SequenceLoop(state.database.sessions, state.github, notifier)


def create_app(
    settings: AppSettings,
    *,
    config: ServeConfig | None = None,
    run_workers: bool = True,
    run_reconcile: bool = True,
) -> FastAPI:
    """The App. `config`: everything the server runs with (`autocoder serve` reads it once,
    `.env` included); without it, the rest comes from the process environment.
    `run_workers` / `run_reconcile`: start those threads with the server (tests of the routes
    alone turn them off; `autocoder serve` starts the workers after binding the port)."""
    config = config or ServeConfig.of(settings, os.environ)
    state = build_state(settings)
    state.config = config
    state.engine = EngineGate(lambda: engine_problem(config.runner, config.environ))
    problem = state.engine.problem()
    if problem is not None:
        _log.warning(
            "no session can run: %s. Labelled issues get one comment saying so until this is "
            "fixed (GET /healthz reports it).",
            problem,
        )
    missing = settings.missing()
    if missing:
        _log.warning(
            "the GitHub App is not configured (%s missing): webhooks cannot be processed. %s",
            ", ".join(missing),
            REGISTER_APP_HELP,
        )

    writer = webhook_route.delivery_writer(state)  # one writer of deliveries
    sequences = sequence_loop(state)  # spec progress comments and notifications (issue #13)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state.database.checkpoints is not None:
            state.database.checkpoints.start()
        if run_workers:
            start_workers(app)
        if run_reconcile and state.reconcile is not None:
            state.reconcile.start()
        if run_reconcile:  # background upkeep, like the reconcile
            sequences.start()
        settle_garbage_collector()
        try:
            yield
        finally:
            sequences.stop()
            if state.reconcile is not None:
                state.reconcile.stop()
            state.stop.set()
            writer.close()  # the deliveries still queued are written first
            if state.workers is not None:
                state.workers.stop()
                state.workers = None
            if getattr(app.state, "remote_orders", None) is not None:
                app.state.remote_orders.stop()
            if state.github is not None:
                state.github.close()
            state.database.dispose()

    app = webhook_route.WebhooksFirst(
        title="autocoder",
        summary="The self-hosted GitHub App of autocoder",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.autocoder = state
    if settings.executor == "actions":  # runs elsewhere fetch orders and report here
        app.state.remote_orders = RemoteOrders(
            Deadlines(settings.actions_start_timeout, settings.actions_silence_timeout)
        )
    app.include_router(work_orders.router)
    app.include_router(health.router)
    app.include_router(metrics_route.router)
    app.github_webhooks = webhook_route.WebhookReceiver(state, writer)
    app.include_router(features.router)
    mount_dashboard(app, settings)  # pages at /, and sign-in for every route but webhooks
    return app
