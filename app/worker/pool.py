"""The worker pool: threads inside `autocoder serve`.

Each worker thread claims a job (`store.claim_next`, with a lease) and runs one attempt of it
(`app.worker.attempt`): the worker alone owns the attempt — it launches the session process
through the executor with a typed work order, reads and stores its events, heartbeats the
lease, turns a cancel into a stop, and records the outcome (and the feature's status) once.

A job is claimed as soon as it is committed: `notify` wakes a worker, and `start_workers`
calls it for every transaction of the server that stores a job (`app.queue.notify`); the poll
remains for jobs stored by another server sharing the database.

A janitor thread takes over jobs whose lease ran out (their server died) and closes the check
runs those dead attempts left open.

Before it launches a session, a worker asks the engine gate whether the model is configured
(`runner.preflight`); when it is not, no session starts: the issue gets one comment saying that
autocoder is not configured with a model (never a second one), and the job fails.

Before it launches a session, a worker also sums what earlier sessions spent against the spend
caps (`app.spend`): a job whose issue, repository day or installation month is already spent
starts no session (the issue is told once per cap and period); otherwise the budgets go into
the work order, and the session's guard ends it at the cap.

Concurrency: the pool has `AUTOCODER_CONCURRENCY` worker threads (the total limit of this
server); `AUTOCODER_MAX_PER_INSTALLATION` caps running jobs per installation across every server
sharing the database; the claim never runs two jobs of one issue at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sqlalchemy.orm import Session, sessionmaker

from app import spend
from app.db.models import utcnow
from app.executors.base import Executor, LaunchSpec, SessionHandle
from app.queue import store
from app.queue.models import Job
from app.queue.notify import notify_on_new_jobs
from app.worker.attempt import Attempt, AttemptConfig
from app.worker.engine_gate import EngineGate, not_configured_comment
from app.worker.env import engine_env
from app.worker.orders import OrderMaker, app_github_tokens, app_tokens
from app.worker.outcome import Backoff, feature_status_after_takeover
from app.worker.recovery import app_github_clients, app_github_factory, close_all_abandoned
from app.worker.settings import WorkerSettings
from runner.events import Result
from runner.github.client import GitHubClient
from runner.github.errors import GitHubError
from runner.spend import Cap, CapScope, ScopeBudget, first_exhausted

if TYPE_CHECKING:  # app.config imports this package's settings
    from app.config import ServeConfig
    from app.github_app import AppGitHub
    from app.metrics import Metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoolConfig:
    concurrency: int = 1
    lease_s: float = 60.0
    heartbeat_s: float = 20.0
    poll_s: float = 1.0
    max_per_installation: int | None = None
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 900.0
    cancel_grace_s: float = 30.0
    stop_grace_s: float = 15.0
    log_dir: Path | None = None
    max_attempts: int | None = None  # None: each job keeps the budget it was stored with

    @classmethod
    def from_settings(
        cls, knobs: WorkerSettings, concurrency: int, log_dir: Path | None
    ) -> PoolConfig:
        return cls(
            concurrency=concurrency,
            lease_s=knobs.lease_seconds,
            heartbeat_s=knobs.heartbeat_interval,
            poll_s=knobs.poll_seconds,
            max_per_installation=knobs.max_per_installation,
            backoff_base_s=knobs.retry_backoff_seconds,
            backoff_cap_s=knobs.retry_backoff_max_seconds,
            cancel_grace_s=knobs.cancel_grace_seconds,
            stop_grace_s=knobs.stop_grace_seconds,
            log_dir=knobs.session_log_dir or log_dir,
            max_attempts=knobs.max_attempts,
        )


@runtime_checkable
class KeepsWarmSessions(Protocol):
    """An executor that keeps a session process started ahead of time (`LocalExecutor`)."""

    def prepare(self, env: Mapping[str, str], log_dir: Path | None) -> None: ...

    def close(self) -> None: ...


def new_worker_prefix() -> str:
    """Unique per server start (a restarted server may get the same pid, e.g. in a container:
    it must not be able to renew a lease its dead predecessor held)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class WorkerPool:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        executor: Executor,
        config: PoolConfig,
        orders: OrderMaker,
        *,
        env: Mapping[str, str] | None = None,
        engine_name: str = "claude",
        model: str | None = None,
        stop_event: threading.Event | None = None,
        github_for: Callable[[Job], GitHubClient | None] | None = None,
        prefix: str | None = None,
        engine_gate: EngineGate | None = None,
        on_result: Callable[[Result], None] | None = None,
        caps: Mapping[CapScope, Cap] | None = None,
    ) -> None:
        self.sessions = sessions
        self.caps = dict(caps or {})  # spend caps across sessions (app.spend)
        self.executor = executor
        self.config = config
        self.orders = orders
        self.env = dict(env or {})  # the session's environment, beyond the basics
        self.engine_name = engine_name
        self.model = model
        self.stop_event = stop_event or threading.Event()
        self.github_for = github_for or (lambda job: None)
        self.prefix = prefix or new_worker_prefix()
        self.engine_gate = engine_gate
        self.on_result = on_result or (lambda result: None)  # each session's result (metrics)
        self.running: dict[int, SessionHandle] = {}
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.unhook: Callable[[], None] = lambda: None  # stops `notify` on new jobs

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> WorkerPool:
        if isinstance(self.executor, KeepsWarmSessions):
            self.executor.prepare(self.env, self.config.log_dir)
        for index in range(self.config.concurrency):
            worker_id = f"{self.prefix}/{index}"
            thread = threading.Thread(
                target=self._work, args=(worker_id,), name=f"worker-{index}", daemon=True
            )
            self._threads.append(thread)
        self._threads.append(threading.Thread(target=self._janitor, name="janitor", daemon=True))
        for thread in self._threads:
            thread.start()
        log.info(
            "%d worker(s) started (%s executor, lease %gs)",
            self.config.concurrency,
            self.executor.name,
            self.config.lease_s,
        )
        return self

    def notify(self) -> None:
        """A job was enqueued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; stop running sessions (they go back to the queue); wait for the
        threads up to `timeout` seconds."""
        self.unhook()
        self.stop_event.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.1))
        alive = [t.name for t in self._threads if t.is_alive()]
        if isinstance(self.executor, KeepsWarmSessions):
            self.executor.close()
        if alive:
            log.warning("worker threads still running after %.0fs: %s", timeout, alive)

    @property
    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    # -- one worker --------------------------------------------------------------------------

    def _work(self, worker_id: str) -> None:
        while not self.stop_event.is_set():
            try:
                with self.sessions() as db:
                    job = store.claim_next(
                        db,
                        worker_id,
                        lease_s=self.config.lease_s,
                        max_per_installation=self.config.max_per_installation,
                        max_attempts=self.config.max_attempts,
                    )
            except Exception:
                log.exception("claiming a job failed; trying again")
                self.stop_event.wait(self.config.poll_s)
                continue
            if job is None:
                self._wake.wait(self.config.poll_s)
                self._wake.clear()
                continue
            try:
                self.run_job(job, worker_id)
            except Exception:
                log.exception("job %s: the worker failed while running it", job.id)

    def run_job(self, job: Job, worker_id: str) -> str | None:
        """Run one attempt of a claimed job; returns the job's new state."""
        config = self.config
        log.info(
            "job %s (%s %s#%s) claimed by %s, attempt %d",
            job.id,
            job.kind,
            job.repository,
            job.issue_number,
            worker_id,
            job.attempts,
        )
        problem = self.engine_gate.problem(fresh=True) if self.engine_gate else None
        if problem is not None:
            self.refuse_unconfigured(job, worker_id, problem)
            return "failed"
        budgets: tuple[ScopeBudget, ...] = ()
        if self.caps:
            with self.sessions() as db:
                budgets = spend.budgets_for(db, job, self.caps, utcnow())
            exhausted = first_exhausted(budgets)
            if exhausted is not None:
                self.refuse_over_budget(job, worker_id, *exhausted)
                return "failed"
        if job.attempts > 1 or job.interruptions:
            with contextlib.suppress(Exception):
                self.executor.clean_up(job.id)
        log_path = config.log_dir / f"job-{job.id}-{job.attempts}.log" if config.log_dir else None
        spec = LaunchSpec(
            job_id=job.id,
            attempt=job.attempts,
            worker_id=worker_id,
            env=self.env,
            log_path=log_path,
            lease_s=config.lease_s,
            heartbeat_s=config.heartbeat_s,
        )
        attempt = Attempt(
            self.sessions,
            self.executor,
            self.orders,
            AttemptConfig(
                lease_s=config.lease_s,
                heartbeat_s=config.heartbeat_s,
                cancel_grace_s=config.cancel_grace_s,
                stop_grace_s=config.stop_grace_s,
                backoff=Backoff(config.backoff_base_s, config.backoff_cap_s),
            ),
            job,
            worker_id,
            spec=spec,
            stopping=self.stop_event,
            github_for=self.github_for,
            engine_name=self.engine_name,
            model=self.model,
            on_result=self.on_result,
            budgets=budgets,
        )

        def launched(handle: SessionHandle) -> None:
            with self._lock:
                self.running[job.id] = handle

        try:
            return attempt.run(launched)
        finally:
            with self._lock:
                self.running.pop(job.id, None)

    def refuse_unconfigured(self, job: Job, worker_id: str, problem: str) -> None:
        """No model: say so once on the issue, start no session, fail the job."""
        log.error(
            "job %s (%s#%s): not started: %s", job.id, job.repository, job.issue_number, problem
        )
        github = self.github_for(job)
        if github is not None:
            marker, body = not_configured_comment()
            try:
                if github.find_issue_comment(job.repository, job.issue_number, marker) is None:
                    github.create_issue_comment(job.repository, job.issue_number, body)
            except GitHubError as error:
                log.warning("job %s: could not comment on the issue: %s", job.id, error)
            finally:
                github.close()
        with self.sessions() as db:
            store.finish(
                db,
                job.id,
                worker_id,
                state="failed",
                error=f"not started: autocoder is not configured with a model: {problem}",
            )

    def refuse_over_budget(self, job: Job, worker_id: str, budget: ScopeBudget, kind: str) -> None:
        """A spend cap earlier sessions used up: no session; the issue is told once per cap
        and period; the job fails naming the cap."""
        now = utcnow()
        what = budget.describe(kind)
        log.warning(
            "job %s (%s#%s): not started: %s", job.id, job.repository, job.issue_number, what
        )
        github = self.github_for(job)
        if github is not None:
            marker, body = spend.refusal_comment(budget, kind, now)
            try:
                if github.find_issue_comment(job.repository, job.issue_number, marker) is None:
                    github.create_issue_comment(job.repository, job.issue_number, body)
            except GitHubError as error:
                log.warning("job %s: could not comment on the issue: %s", job.id, error)
            finally:
                github.close()
        with self.sessions() as db:
            store.finish(db, job.id, worker_id, state="failed", error=f"not started: {what}")

    # -- the janitor ---------------------------------------------------------------------------

    def _janitor(self) -> None:
        interval = max(min(self.config.lease_s / 2, 30.0), 0.2)
        while not self.stop_event.is_set():
            try:
                self.sweep()
            except Exception:
                log.exception("janitor sweep failed")
            self.stop_event.wait(interval)

    def sweep(self) -> int:
        """Take over jobs whose lease ran out, then close check runs dead attempts left open."""
        with self.sessions() as db:
            taken = store.take_over_expired(db)
            for item in taken:
                log.warning(
                    "job %s (%s#%s): lease of %s ran out; now %s",
                    item.job_id,
                    item.repository,
                    item.issue_number,
                    item.previous_owner,
                    item.state,
                )
            for item in taken:
                current = store.get_job(db, item.job_id)
                if current is not None:
                    feature_status_after_takeover(db, current)
            db.commit()
            if taken:
                self._wake.set()
            close_all_abandoned(db, self.github_for)
        return len(taken)


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
