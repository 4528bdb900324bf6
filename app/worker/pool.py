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

Its parts: `app.worker.pool_config` (how it runs), `app.worker.refusals` (jobs that start no
session), `app.worker.assemble` (`start_workers`: the pool from the server's configuration).

Concurrency: the pool has `AUTOCODER_CONCURRENCY` worker threads (the total limit of this
server); `AUTOCODER_MAX_PER_INSTALLATION` caps running jobs per installation across every server
sharing the database; the claim never runs two jobs of one issue at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session, sessionmaker

from app import spend
from app.db.models import utcnow
from app.executors.base import Executor, LaunchSpec, SessionHandle
from app.queue import store
from app.queue.models import Job
from app.worker.assemble import database_url_of, default_log_dir, make_executor, start_workers
from app.worker.attempt import Attempt, AttemptConfig
from app.worker.engine_gate import EngineGate
from app.worker.orders import OrderMaker
from app.worker.outcome import Backoff, feature_status_after_takeover
from app.worker.pool_config import KeepsWarmSessions, PoolConfig, new_worker_prefix
from app.worker.recovery import close_all_abandoned
from app.worker.refusals import refuse_over_budget, refuse_unconfigured
from runner.events import Result
from runner.github.client import GitHubClient
from runner.spend import Cap, CapScope, ScopeBudget, first_exhausted

__all__ = [  # importable from here as before the split
    "KeepsWarmSessions",
    "PoolConfig",
    "WorkerPool",
    "database_url_of",
    "default_log_dir",
    "make_executor",
    "new_worker_prefix",
    "start_workers",
]

log = logging.getLogger(__name__)


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
        refuse_unconfigured(self.sessions, self.github_for, job, worker_id, problem)

    def refuse_over_budget(self, job: Job, worker_id: str, budget: ScopeBudget, kind: str) -> None:
        """A spend cap earlier sessions used up: no session; the issue is told once."""
        refuse_over_budget(self.sessions, self.github_for, job, worker_id, budget, kind)

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
