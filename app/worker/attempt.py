"""One attempt of one job, owned by the worker thread that claimed it.

The worker launches the session process (`runner.session_process`, through the executor), writes
its work order on stdin, and then alone:

- reads its events (a reader thread) and stores them (`session_events`), check runs as they
  open and close on the job row too (the janitor closes those of a worker that dies);
- renews the lease every `heartbeat_s`; a lost lease kills the session at once (somebody else
  owns the job now: two sessions must not push to one branch);
- turns a cancel request into a `Stop` line, and kills the session if it does not stop within
  `cancel_grace_s`; on server shutdown, `Stop` then SIGTERM;
- sends a fresh installation token when the one it handed over gets old;
- when the process is gone, records the outcome (`app.worker.outcome.record_outcome`) and
  concludes every check run the attempt left open.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from app import mirror
from app.db.models import SessionRecord
from app.executors.base import Executor, LaunchSpec, SessionHandle
from app.queue import events as stored
from app.queue import store
from app.queue.models import Job
from app.worker.orders import OrderMaker
from app.worker.outcome import AttemptEnd, Backoff, Stopped, record_outcome
from app.worker.recovery import close_check_runs
from runner.events import (
    CheckRun,
    Failure,
    Log,
    Result,
    ResumeState,
    SessionEvent,
    Spend,
    Started,
    Stop,
    Tell,
    TokenRefresh,
    control_line,
    parse_event,
)
from runner.github.client import GitHubClient
from runner.spend import ScopeBudget

log = logging.getLogger(__name__)

_EOF = object()
# Stored at once; the rest at the next tick.
URGENT = (CheckRun, Result, Failure, Started, ResumeState)


@dataclass(frozen=True)
class AttemptConfig:
    lease_s: float
    heartbeat_s: float
    cancel_grace_s: float
    stop_grace_s: float
    backoff: Backoff


class Attempt:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        executor: Executor,
        orders: OrderMaker,
        config: AttemptConfig,
        job: Job,
        worker_id: str,
        *,
        spec: LaunchSpec,
        stopping: threading.Event,
        github_for: Callable[[Job], GitHubClient | None],
        engine_name: str,
        model: str | None,
        on_result: Callable[[Result], None] = lambda result: None,
        budgets: tuple[ScopeBudget, ...] = (),
    ) -> None:
        self.sessions = sessions
        self.budgets = budgets  # spend caps beyond the session's (app.spend), for the order
        self.executor = executor
        self.orders = orders
        self.config = config
        self.job = job
        self.worker_id = worker_id
        self.spec = spec
        self.stopping = stopping
        self.github_for = github_for
        self.engine_name = engine_name
        self.on_result = on_result  # the session's result, once (metrics)
        self.model = model
        self.events: list[SessionEvent] = []
        self._stored = 0
        self._next_seq = 1
        self._inbox: queue.Queue[object] = queue.Queue()
        self._lines: list[str] = []
        self._told: set[int] = set()  # `Tell` comments sent to the session
        self.launched_at = 0.0
        self.started_after_s: float | None = None  # launch → the session's `started` event

    # -- the whole attempt -------------------------------------------------------------------

    def run(self, on_launch: Callable[[SessionHandle], None]) -> str | None:
        """Run the attempt to its end; returns the job's new state (None: not ours)."""
        from runner.session import new_session_id

        job = self.job
        session_id = new_session_id()
        with self.sessions() as db:
            store.record_session(db, job.id, self.worker_id, session_id)
            self._next_seq = stored.next_seq(db, job.id, job.attempts)
            row = mirror.record_session_started(
                db,
                repository=job.repository,
                issue_number=job.issue_number,
                job_id=job.id,
                kind=job.kind,
                engine=self.engine_name,
                model=self.model,
            )
            row.runner_session_id = session_id
            db.commit()
            self.row_id: int | None = row.id
        try:
            with self.sessions() as db:
                resume = stored.resume_state_for(db, job)
                self._told = stored.steered_comments(db, job.id)
            order = self.orders.make(job, session_id, budgets=self.budgets, resume=resume)
            self.launched_at = time.monotonic()
            handle = self.executor.launch(self.spec)
            handle.stdin.write(order.to_line().encode())
            handle.stdin.flush()
        except Exception as error:
            log.warning("job %s: could not start the session: %s", job.id, error)
            end = AttemptEnd(
                last=Failure(error=f"could not start the session: {error}", transient=True),
                exit_code=0,
            )
            return self._record(end)
        on_launch(handle)
        reader = threading.Thread(
            target=self._read, args=(handle.stdout,), name=f"events-{job.id}", daemon=True
        )
        reader.start()
        code, stopped, cancel_requested = self._watch(handle)
        reader.join(timeout=10)
        self._drain()
        self._store_pending()
        last = next((e for e in reversed(self.events) if isinstance(e, Result | Failure)), None)
        end = AttemptEnd(
            last=last, exit_code=code, stopped=stopped, cancel_requested=cancel_requested
        )
        state = self._record(end)
        if isinstance(last, Result):
            with contextlib.suppress(Exception):
                self.on_result(last)
        if not isinstance(last, Result) and stopped is not Stopped.LEASE_LOST:
            self._conclude_open_check_runs(state)
        pull = last.pull_request_url if isinstance(last, Result) else None
        log.info(
            "job %s (%s#%s) attempt %s: session exited %s; job %s%s%s",
            job.id,
            job.repository,
            job.issue_number,
            job.attempts,
            code,
            state,
            f"; pull request {pull}" if pull else "",
            f" (log: {self.spec.log_path})" if self.spec.log_path else "",
        )
        return state

    def _record(self, end: AttemptEnd) -> str | None:
        with self.sessions() as db:
            return record_outcome(
                db,
                self.job,
                self.worker_id,
                end,
                session_row_id=self.row_id,
                log="\n".join(self._lines),
                backoff=self.config.backoff,
            )

    # -- while it runs -------------------------------------------------------------------------

    def _read(self, stdout: IO[bytes]) -> None:
        for raw in stdout:
            line = raw.decode(errors="replace").strip()
            if not line:
                continue
            try:
                event: SessionEvent = parse_event(line)
            except ValueError:
                event = Log(line=line[:2000])  # not an event: kept as a log line
            self._inbox.put(event)
        self._inbox.put(_EOF)

    def _watch(self, handle: SessionHandle) -> tuple[int, Stopped, bool]:
        """Until the process ends: its exit code, whether (and why) we stopped it, and
        whether a cancel was requested."""
        config = self.config
        next_tick = time.monotonic() + config.heartbeat_s
        last_token = time.monotonic()
        cancel_seen: float | None = None
        stop_sent = False
        eof = False
        while True:
            timeout = max(next_tick - time.monotonic(), 0.0)
            if eof:
                code = handle.wait(timeout=timeout)
                if code is not None:
                    return code, Stopped.NOT, cancel_seen is not None
            else:
                try:
                    item = self._inbox.get(timeout=timeout)
                except queue.Empty:
                    item = None
                if item is _EOF:
                    eof = True
                elif item is not None:
                    self._take(item)  # type: ignore[arg-type]
                    continue
            if time.monotonic() < next_tick:
                continue
            next_tick = time.monotonic() + config.heartbeat_s
            self._store_pending()
            if self.stopping.is_set():
                log.info("job %s: server stopping; stopping %s", self.job.id, handle.description)
                self._send(handle, Stop(reason="the server is stopping"))
                return handle.stop(config.stop_grace_s), Stopped.SHUTDOWN, False
            try:
                with self.sessions() as db:
                    if not store.heartbeat(db, self.job.id, self.worker_id, lease_s=config.lease_s):
                        log.warning(
                            "job %s: lease lost; killing %s", self.job.id, handle.description
                        )
                        return handle.stop(0), Stopped.LEASE_LOST, False
                    current = store.get_job(db, self.job.id)
            except Exception as error:
                log.warning("job %s: heartbeat failed: %s", self.job.id, error)
                continue
            if current is not None:
                self._forward_tells(handle, current)
            if current is not None and current.cancel_requested:
                self.job.error = current.error
                if cancel_seen is None:
                    cancel_seen = time.monotonic()
                if not stop_sent:
                    stop_sent = self._send(handle, Stop(reason=current.error or "cancelled"))
                elif time.monotonic() - cancel_seen > config.cancel_grace_s:
                    log.warning(
                        "job %s: cancel not honoured in %.0fs; stopping",
                        self.job.id,
                        config.cancel_grace_s,
                    )
                    return handle.stop(config.stop_grace_s), Stopped.CANCEL, True
            if time.monotonic() - last_token > self.orders.refresh_s:
                last_token = time.monotonic()
                with contextlib.suppress(Exception):
                    token = self.orders.tokens(self.job)
                    self._send(handle, TokenRefresh(token=token))  # type: ignore[arg-type]

    def _forward_tells(self, handle: SessionHandle, current: Job) -> None:
        """Maintainers' messages stored on the job since the last tick (`/autocoder tell`),
        to the session as `Tell` lines, each once."""
        for told in (current.payload or {}).get("tell", []):
            try:
                tell = Tell.model_validate(told)
            except ValueError:
                continue
            if tell.comment_id in self._told:
                continue
            if self._send(handle, tell):
                self._told.add(tell.comment_id)

    def _send(self, handle: SessionHandle, control: Stop | TokenRefresh | Tell) -> bool:
        try:
            handle.stdin.write(control_line(control).encode())
            handle.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def _take(self, event: SessionEvent) -> None:
        self.events.append(event)
        if isinstance(event, Started) and self.started_after_s is None:
            self.started_after_s = time.monotonic() - self.launched_at
            log.info("job %s: session process up after %.2fs", self.job.id, self.started_after_s)
        if isinstance(event, Log):
            self._lines.append(event.line)
        if isinstance(event, Spend):
            self._record_spend(event)
        if isinstance(event, CheckRun):
            with self.sessions() as db:
                if event.state == "in_progress":
                    store.record_check_run(
                        db, self.job.id, self.worker_id, event.id, event.head_sha
                    )
                else:
                    store.clear_check_run(db, self.job.id, self.worker_id, event.id)
        if isinstance(event, URGENT):
            self._store_pending()

    def _record_spend(self, event: Spend) -> None:
        """The attempt's spend so far, on its session row: spend caps count it even if the
        session never concludes (`app.spend`)."""
        if self.row_id is None:
            return
        try:
            with self.sessions() as db:
                row = db.get(SessionRecord, self.row_id)
                if row is not None:
                    row.turns = event.turns
                    row.input_tokens = event.input_tokens
                    row.output_tokens = event.output_tokens
                    row.cost_usd = event.cost_usd
                    db.commit()
        except Exception as error:  # the Result records it again
            log.warning("job %s: could not record spend: %s", self.job.id, error)

    def _drain(self) -> None:
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if item is not _EOF:
                self._take(item)  # type: ignore[arg-type]

    def _store_pending(self) -> None:
        pending = self.events[self._stored :]
        if not pending:
            return
        try:
            with self.sessions() as db:
                self._next_seq = stored.append_events(
                    db, self.job.id, self.job.attempts, self._next_seq, pending
                )
                db.commit()
            self._stored += len(pending)
        except Exception as error:  # kept in memory; stored at the next tick
            log.warning("job %s: could not store session events: %s", self.job.id, error)

    # -- after it ----------------------------------------------------------------------------

    def _conclude_open_check_runs(self, state: str | None) -> None:
        """The attempt did not conclude: every check run it opened and did not complete is
        completed now (with a note saying what happens next)."""
        open_runs = stored.open_check_runs(self.events)
        if not open_runs:
            return
        github = self.github_for(self.job)
        if github is None:
            log.warning(
                "job %s: cannot close check runs %s: no GitHub credentials",
                self.job.id,
                sorted(open_runs),
            )
            return
        with self.sessions() as db:
            job = store.get_job(db, self.job.id)
            if job is None:
                return
            db.expunge(job)
        try:
            closed = close_check_runs(github, job, open_runs, why="stopped before it concluded")
        finally:
            github.close()
        for run_id in closed:
            self.events.append(CheckRun(id=run_id, state="completed"))
        self._store_pending()
        with self.sessions() as db:
            store.forget_abandoned(db, self.job.id, closed)
