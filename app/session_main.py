"""The entry an executor launches for one attempt of one job:

    python -m app.session_main --job-id N --worker-id W [--database-url URL] [--parent-pid P]

(the URL defaults to `AUTOCODER_DATABASE_URL`; executors pass it that way, since a PostgreSQL
URL may hold a password and a command line is visible to everyone on the host).

It loads the job, acts as the App's installation for it, builds the Task (`runner.task_loader`),
closes check runs a dead earlier attempt left open, runs the session, and records the session
row and the job's result. While it runs, a supervision thread renews the job's lease, turns
`cancel_requested` into the session's cancel event and keeps the session row's log current.

How it stops:

- cancel requested (the issue was unlabelled, closed, `/autocoder stop`, the Stop button): the
  session stops, commits and pushes its work and concludes its check run `cancelled`; the job
  ends `cancelled`;
- SIGTERM (the executor stops it: server shutdown) or the server died (`PR_SET_PDEATHSIG`, plus a
  parent-pid check for the start-up race): the same graceful stop, but the job goes back to the
  queue to run again; after a grace period the whole process group is killed;
- the lease is lost (another worker took the job over): the process group is killed at once —
  somebody else owns the job now, and two sessions must not push to one branch.

Exit status: 0 when the job's outcome was recorded, 3 when the job was not ours to run, 1 on an
unexpected error (the worker then records a transient failure).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app import mirror
from app.db.engine import open_database
from app.db.models import AgentStatus, SessionRecord
from app.executors.base import DATABASE_URL_ENV
from app.queue import store
from app.queue.models import PAYLOAD_PULL_NUMBER, PAYLOAD_REVIEW_ID, Job
from app.worker.recovery import close_abandoned_check_runs
from app.worker.settings import WorkerSettings
from runner.github.auth import GitHubCredentials
from runner.github.client import GitHubClient
from runner.github.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFoundError,
    GitHubValidationError,
)
from runner.github.types import CheckRunInfo
from runner.settings import RunnerSettings
from runner.task import Conclusion, SessionResult, Task

log = logging.getLogger("app.session_main")

EXIT_RECORDED = 0
EXIT_ERROR = 1
EXIT_NOT_OURS = 3
PR_SET_PDEATHSIG = 1
LOG_LIMIT = 200_000


# -- dying with the server ----------------------------------------------------------------------


def die_with_parent(parent_pid: int | None) -> bool:
    """Ask the kernel for SIGTERM when the process that started us dies. False when it is
    already gone (we were orphaned before we could ask)."""
    if parent_pid is None:
        return True
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    return os.getppid() == parent_pid


def kill_own_group() -> None:
    """SIGKILL this process and everything it started (it leads its own group when launched by
    an executor; otherwise only itself)."""
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


class _JobCheckRuns:
    """Records on the job the check run its session has open (if this process dies, the next
    worker knows which one to close)."""

    def __init__(self, sessions: sessionmaker[Session], job_id: int, worker_id: str) -> None:
        self._sessions = sessions
        self._job_id = job_id
        self._worker_id = worker_id

    def opened(self, run: CheckRunInfo) -> None:
        with self._sessions() as db:
            store.record_check_run(db, self._job_id, self._worker_id, run.id, run.head_sha)

    def concluded(self, check_run_id: int) -> None:
        with self._sessions() as db:
            store.clear_check_run(db, self._job_id, self._worker_id, check_run_id)


# -- supervision: lease, cancellation, parent, log -----------------------------------------------


class Supervisor:
    """Runs beside the session: renews the lease, watches for cancellation and for the parent's
    death, and keeps the session row's log current."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        job_id: int,
        worker_id: str,
        *,
        lease_s: float,
        interval_s: float,
        parent_pid: int | None,
        on_cancel: Callable[[], None],
        on_interrupt: Callable[[str], None],
        session_row: Callable[[], int | None],
        lines: list[str],
    ) -> None:
        self.sessions = sessions
        self.job_id = job_id
        self.worker_id = worker_id
        self.lease_s = lease_s
        self.interval_s = interval_s
        self.parent_pid = parent_pid
        self.on_cancel = on_cancel
        self.on_interrupt = on_interrupt
        self.session_row = session_row
        self.lines = lines
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._cancel_seen = False

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            try:
                self.tick()
            except Exception as error:  # a database hiccup: try again next tick
                log.warning("supervision tick failed: %s", error)

    def tick(self) -> None:
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            self.on_interrupt("the server that started this session is gone")
        with self.sessions() as db:
            if not store.heartbeat(db, self.job_id, self.worker_id, lease_s=self.lease_s):
                log.error("job %s: lease lost (taken over); stopping at once", self.job_id)
                sys.stdout.flush()
                kill_own_group()
            job = store.get_job(db, self.job_id)
            if job is not None and job.cancel_requested and not self._cancel_seen:
                self._cancel_seen = True
                log.info("job %s: cancel requested: %s", self.job_id, job.error)
                self.on_cancel()
            row_id = self.session_row()
            if row_id is not None:
                row = db.get(SessionRecord, row_id)
                if row is not None:
                    row.log = "\n".join(self.lines)[-LOG_LIMIT:]
                    db.commit()


# -- the run ------------------------------------------------------------------------------------


def job_state_for(result: SessionResult, *, interrupted: bool) -> str:
    """The job's state after its session concluded (`queued`: run again)."""
    if result.conclusion in (Conclusion.SUCCESS, Conclusion.NEUTRAL):
        return "succeeded"
    if result.conclusion is Conclusion.CANCELLED:
        return "queued" if interrupted else "cancelled"
    return "failed"


PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    GitHubAuthError,
    GitHubNotFoundError,
    GitHubValidationError,
    ValueError,
)


def is_transient(error: BaseException) -> bool:
    """Whether running the job again later may succeed."""
    from runner.bootstrap import SetupError
    from runner.workspace.errors import CredentialsInUrl, GitAuthError, UnsupportedUrl

    permanent = (*PERMANENT_ERRORS, SetupError, CredentialsInUrl, GitAuthError, UnsupportedUrl)
    if isinstance(error, GitHubError) and error.status is not None and error.status < 500:
        return error.status == 429
    return not isinstance(error, permanent)


class Run:
    def __init__(self, sessions: sessionmaker[Session], args: argparse.Namespace) -> None:
        self.sessions = sessions
        self.job_id: int = args.job_id
        self.worker_id: str = args.worker_id
        self.lease_s: float = args.lease_seconds
        self.interval_s: float = args.heartbeat_seconds or max(args.lease_seconds / 3, 0.2)
        self.parent_pid: int | None = args.parent_pid
        self.lines: list[str] = []
        self.session_row_id: int | None = None
        self.interrupted: str | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.cancel: asyncio.Event | None = None
        self.knobs = WorkerSettings()

    def echo(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)

    # called from any thread
    def request_cancel(self) -> None:
        if self.loop is not None and self.cancel is not None:
            self.loop.call_soon_threadsafe(self.cancel.set)

    def interrupt(self, why: str) -> None:
        if self.interrupted is not None:
            return
        self.interrupted = why
        log.warning("job %s: interrupted (%s); stopping the session", self.job_id, why)
        self.request_cancel()
        timer = threading.Timer(self.knobs.stop_grace_seconds, kill_own_group)
        timer.daemon = True
        timer.start()

    def execute(self) -> int:
        from runner.session import new_session_id

        with self.sessions() as db:
            job = store.get_job(db, self.job_id)
            if job is None or job.state != "running" or job.lease_owner != self.worker_id:
                log.error(
                    "job %s is not running under %s; nothing to do", self.job_id, self.worker_id
                )
                return EXIT_NOT_OURS
            session_id = new_session_id()
            store.record_session(db, self.job_id, self.worker_id, session_id)
            job = store.get_job(db, self.job_id)
            assert job is not None
        supervisor = Supervisor(
            self.sessions,
            self.job_id,
            self.worker_id,
            lease_s=self.lease_s,
            interval_s=self.interval_s,
            parent_pid=self.parent_pid,
            on_cancel=self.request_cancel,
            on_interrupt=self.interrupt,
            session_row=lambda: self.session_row_id,
            lines=self.lines,
        )
        supervisor.start()
        try:
            return asyncio.run(self._run(job, session_id))
        finally:
            supervisor.stop()

    async def _run(self, job: Job, session_id: str) -> int:
        self.loop = asyncio.get_running_loop()
        self.cancel = asyncio.Event()
        self.loop.add_signal_handler(signal.SIGTERM, self.interrupt, "stopped by the server")
        if job.cancel_requested:
            self.cancel.set()
        try:
            result = await self._session(job, session_id)
        except Exception as error:
            transient = is_transient(error)
            log.exception(
                "job %s: session failed (%s)", job.id, "transient" if transient else "permanent"
            )
            self._record_failure(job, error, transient)
            return EXIT_RECORDED
        self._record_result(job, result)
        return EXIT_RECORDED

    async def _session(self, job: Job, session_id: str) -> SessionResult:
        from runner.bootstrap import make_engine, session_deps
        from runner.session import run_session

        settings = RunnerSettings()  # from the environment the server built (`session_env`)
        settings = settings.model_copy(update={"work_dir": fresh_work_dir(settings.work_dir, job)})
        credentials = installation_credentials(settings, job)

        github = GitHubClient(
            credentials, seconds_between_writes=self.knobs.github_seconds_between_writes
        )
        try:
            if job.abandoned_check_runs:
                closed = await asyncio.to_thread(close_abandoned_check_runs, github, job)
                with self.sessions() as db:
                    store.forget_abandoned(db, job.id, closed)
            task = await asyncio.to_thread(load_task, github, settings, job)
            self._open_session_row(job, session_id, settings.engine, settings.model)
            deps = session_deps(
                settings, github, credentials, make_engine(settings), echo=self.echo
            )
            deps.check_run_observer = _JobCheckRuns(self.sessions, job.id, self.worker_id)
            return await run_session(task, deps, session_id=session_id, cancel=self.cancel)
        finally:
            github.close()

    def _open_session_row(self, job: Job, session_id: str, engine: str, model: str | None) -> None:
        with self.sessions() as db:
            row = mirror.record_session_started(
                db,
                repository=job.repository,
                issue_number=job.issue_number,
                job_id=job.id,
                kind=job.kind,
                engine=engine,
                model=model,
            )
            row.runner_session_id = session_id
            db.commit()
            self.session_row_id = row.id

    def _close_session_row(self, job: Job, job_state: str, **values: Any) -> None:
        """Record how the session ended (and the issue's agent status, from the job's)."""
        with self.sessions() as db:
            if self.session_row_id is not None:
                mirror.record_session_finished(
                    db, self.session_row_id, log="\n".join(self.lines), **values
                )
            if job_state == "queued":
                mirror.set_agent_status(db, job.repository, job.issue_number, AgentStatus.QUEUED)
            elif job_state == "cancelled":
                mirror.set_agent_status(db, job.repository, job.issue_number, AgentStatus.PENDING)
            db.commit()

    def _record_result(self, job: Job, result: SessionResult) -> None:
        state = job_state_for(result, interrupted=self.interrupted is not None)
        self._close_session_row(
            job,
            state,
            conclusion=result.conclusion.value,
            error=result.error,
            branch=result.branch,
            pull_request_number=result.pull_number,
            pull_request_url=result.pull_request_url,
            check_run_url=result.check_run_url,
            turns=result.usage.turns,
            input_tokens=result.usage.input_tokens,
            output_tokens=result.usage.output_tokens,
            cost_usd=result.usage.cost_usd,
        )
        with self.sessions() as db:
            if state == "queued":
                store.release(db, job.id, self.worker_id, reason=f"interrupted: {self.interrupted}")
            else:
                error = None
                if state != "succeeded":
                    error = f"session concluded {result.conclusion.value}"
                    if result.error:
                        error += f": {result.error}"
                store.finish(db, job.id, self.worker_id, state=state, error=error)
        log.info(
            "job %s: session %s concluded %s; job %s",
            job.id,
            result.session_id,
            result.conclusion.value,
            state,
        )

    def _record_failure(self, job: Job, error: BaseException, transient: bool) -> None:
        message = f"{type(error).__name__}: {error}"
        with self.sessions() as db:
            if self.interrupted is not None and transient:
                store.release(db, job.id, self.worker_id, reason=f"interrupted: {self.interrupted}")
                state: str | None = "queued"
            else:
                state = store.fail(
                    db,
                    job.id,
                    self.worker_id,
                    error=message,
                    transient=transient,
                    backoff_base_s=self.knobs.retry_backoff_seconds,
                    backoff_cap_s=self.knobs.retry_backoff_max_seconds,
                )
        self._close_session_row(job, state or "failed", conclusion="failure", error=message)


def fresh_work_dir(base: Path | None, job: Job) -> Path:
    """The issue's own directory for worktrees, emptied first. A session killed outright
    (SIGKILL, a machine crash) leaves its worktree behind, which keeps its branch checked out
    in the shared mirror; removing the directory lets the runner's `git worktree prune` free
    the branch. Safe because only one session per issue is ever active."""
    root = base or Path(tempfile.gettempdir()) / "autocoder-work"
    directory = root / f"{job.repository.replace('/', '--')}--issue-{job.issue_number}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def installation_credentials(settings: RunnerSettings, job: Job) -> GitHubCredentials:
    """Act as the App's installation the job came from (or, without one, find it by the
    repository; a plain token works too, for `autocoder run`-style set-ups)."""
    from runner.bootstrap import github_credentials

    pem = settings.private_key_pem()
    if job.installation_id is not None and settings.github_app_id is not None and pem:
        app = GitHubCredentials.from_app(
            settings.github_app_id, pem, base_url=settings.github_api_url
        )
        return app.for_installation(job.installation_id)
    return github_credentials(settings, job.repository)


def load_task(github: GitHubClient, settings: RunnerSettings, job: Job) -> Task:
    from runner.task_loader import load_follow_up_task, load_issue_task

    actor = job.actor or ""
    limits = settings.limits()
    bot_login = settings.commit_name if settings.commit_name.endswith("[bot]") else None
    if job.kind == "follow_up":
        pull_number = job.payload.get(PAYLOAD_PULL_NUMBER)
        if pull_number is None:
            raise ValueError(f"follow-up job {job.id} has no {PAYLOAD_PULL_NUMBER} in its payload")
        review_id = job.payload.get(PAYLOAD_REVIEW_ID)
        return load_follow_up_task(
            github,
            job.repository,
            int(pull_number),
            job.issue_number,
            int(review_id) if review_id is not None else None,
            triggered_by=actor,
            limits=limits,
        )
    if not actor:
        actor = github.get_issue(job.repository, job.issue_number).author
    return load_issue_task(
        github,
        job.repository,
        job.issue_number,
        triggered_by=actor,
        limits=limits,
        bot_login=bot_login,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m app.session_main", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--job-id", type=int, required=True)
    parser.add_argument("--worker-id", required=True, help="the lease owner (the worker's id)")
    parser.add_argument(
        "--database-url",
        default=None,
        help=f"default: ${DATABASE_URL_ENV} (preferred: no secret in argv)",
    )
    parser.add_argument("--lease-seconds", type=float, default=60.0)
    parser.add_argument("--heartbeat-seconds", type=float, default=None)
    parser.add_argument("--parent-pid", type=int, default=None, help="stop when this process dies")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s job-{args.job_id} %(name)s: %(message)s",
        stream=sys.stdout,
    )
    if not die_with_parent(args.parent_pid):
        log.error("the server that launched job %s is already gone; not starting", args.job_id)
        return EXIT_NOT_OURS
    url = args.database_url or os.environ.get(DATABASE_URL_ENV)
    if not url:
        log.error("no database: pass --database-url or set %s", DATABASE_URL_ENV)
        return EXIT_ERROR
    database = open_database(url, run_migrations=False)
    started = time.monotonic()
    try:
        return Run(database.sessions, args).execute()
    finally:
        database.dispose()
        log.info(
            "job %s: session process done after %.1fs", args.job_id, time.monotonic() - started
        )


if __name__ == "__main__":
    sys.exit(main())
