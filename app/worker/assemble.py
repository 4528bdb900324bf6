"""Assembling the worker pool of `autocoder serve` from the server's configuration: the
executor, the session log directory, the token source and the work-order maker."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from app.executors.base import Executor
from app.queue.models import Job
from app.queue.notify import notify_on_new_jobs
from app.worker.engine_gate import EngineGate
from app.worker.env import engine_env
from app.worker.orders import OrderMaker, app_github_tokens, app_tokens
from app.worker.pool_config import PoolConfig
from app.worker.recovery import app_github_clients, app_github_factory
from app.worker.settings import WorkerSettings
from runner.github.client import GitHubClient

if TYPE_CHECKING:  # app.config imports this package's settings
    from app.config import ServeConfig
    from app.github_app import AppGitHub
    from app.metrics import Metrics
    from app.worker.pool import WorkerPool

log = logging.getLogger("app.worker.pool")


def database_url_of(database_url: str, sessions: sessionmaker[Session]) -> str:
    if database_url:
        return database_url
    bind = sessions.kw.get("bind")
    return str(bind.url.render_as_string(hide_password=False)) if bind is not None else ""


def default_log_dir(database_url: str) -> Path:
    from app.executors.docker import sqlite_directory

    directory = sqlite_directory(database_url)
    return (directory if directory is not None else Path("~/.autocoder").expanduser()) / "sessions"


def make_executor(name: str, knobs: WorkerSettings, database_url: str) -> Executor:
    if name == "docker":
        from app.executors.docker import DockerExecutor, DockerLimits, DockerOptions

        options = DockerOptions(
            image=knobs.docker_image,
            limits=DockerLimits(
                cpus=knobs.docker_cpus, memory=knobs.docker_memory, pids=knobs.docker_pids
            ),
            network=knobs.docker_network,
            docker=knobs.container_engine,
        )
        return DockerExecutor(options)
    if name == "kubernetes":
        from app.executors.kubernetes import kubernetes_executor

        return kubernetes_executor(knobs)
    from app.executors.local import LocalExecutor

    return LocalExecutor(spare=True)


def start_workers(
    config: ServeConfig,
    session_factory: sessionmaker[Session],
    stop_event: threading.Event,
    *,
    engine_gate: EngineGate | None = None,
    executor: Executor | None = None,
    github: AppGitHub | None = None,
    metrics: Metrics | None = None,
) -> WorkerPool:
    """Start the pool for `autocoder serve` with the server's whole configuration (App,
    worker and runner settings, and the environment sessions get); `pool.stop(timeout)`
    stops it. `github`: the server's own App handle — its installation tokens (already minted
    by the webhook path's permission check) are the sessions' tokens; `metrics`: where each
    session's GitHub REST calls are counted."""
    from app.worker.pool import WorkerPool

    knobs = config.worker
    database_url = database_url_of(config.app.database_url, session_factory)
    pool_config = PoolConfig.from_settings(
        knobs, config.app.concurrency, default_log_dir(database_url)
    )
    app = config.app
    runner_settings = config.runner
    if app.executor in ("docker", "kubernetes"):  # the image is the sandbox, with its own home
        from app.executors.docker import container_settings

        runner_settings = container_settings(runner_settings)
    between_writes = knobs.github_seconds_between_writes
    if github is not None:
        tokens = app_github_tokens(github)
        github_for: Callable[[Job], GitHubClient | None] = app_github_clients(
            github, seconds_between_writes=between_writes
        )
    else:
        tokens = app_tokens(app.github_app_id, app.private_key_pem(), app.github_api_url)
        github_for = app_github_factory(app, seconds_between_writes=between_writes)
    orders = OrderMaker(
        runner_settings,
        tokens,
        public_url=app.public_url,
        seconds_between_writes=between_writes,
        write_burst=knobs.github_write_burst,
    )
    pool = WorkerPool(
        session_factory,
        executor or make_executor(app.executor, knobs, database_url),
        pool_config,
        orders,
        env=engine_env(config.environ),
        stop_event=stop_event,
        github_for=github_for,
        engine_gate=engine_gate,
        caps=app.spend_caps(),
        engine_name=config.runner.engine,
        model=config.runner.model,
        on_result=metrics.observe_result if metrics is not None else None,
    )
    pool.unhook = notify_on_new_jobs(session_factory, pool.notify)
    log.info("session logs go to %s", pool_config.log_dir or "nowhere (no log directory)")
    return pool.start()
