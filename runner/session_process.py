"""The session process an executor launches for one attempt of one job:

    python -m runner.session_process  < one WorkOrder line, then Control lines
                                      > SessionEvent lines (JSON), log on stderr

It reads one `runner.work_order.WorkOrder` from stdin, runs the session (`runner.bootstrap`, as
`autocoder run` and the Action do) and writes `runner.events` events on stdout, ending with a
`Result` (the session concluded) or a `Failure` (it could not). It needs no database and no App
private key: GitHub access is the order's installation token, replaced by `TokenRefresh` lines.

It stops gracefully — commits and pushes the work so far, concludes its check run `cancelled`
— on a `Stop` line, on SIGTERM or SIGINT, when stdin closes (its worker is gone) or when its
parent dies (`PR_SET_PDEATHSIG`: a session that outlived its worker would race the one that
takes its job over). Owning the job (lease, outcome, the feature's status) is the worker's job.

Everything a session needs is imported before the order is read (`warm_up`), so a process
started ahead of time (the local executor's warm spare) starts its session at once.

Exit status: 0 when it wrote a `Result` or `Failure` (or stdin closed before any order: a
spare nobody needed), 2 when the order was not valid.
"""

from __future__ import annotations

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
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import IO

from github import Auth

from runner.conversation_state import SteeringInbox, SteerMessage
from runner.engines.base import (
    AssistantText,
    CommandRan,
    Engine,
    EngineEvent,
    EngineOutcome,
    EngineRequest,
    ToolUse,
)
from runner.events import (
    CheckRun,
    Command,
    Failure,
    LimitReached,
    Log,
    Result,
    SessionEvent,
    Started,
    Stop,
    Tell,
    Text,
    TokenRefresh,
    ToolCall,
    event_line,
    parse_control,
)
from runner.github.auth import GitHubCredentials
from runner.github.http import GitHubHTTP
from runner.github.types import CheckRunInfo
from runner.task import Conclusion, SessionResult, Task
from runner.work_order import WorkKind, WorkOrder

log = logging.getLogger("runner.session_process")

EXIT_DONE = 0
EXIT_BAD_ORDER = 2
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15


class HandedToken(GitHubCredentials):
    """GitHub access by an installation token the worker handed over; `update` swaps in a
    fresh one (every later request and git command uses it)."""

    installation = True  # minted for the App's installation: may create check runs

    def __init__(self, token: str, *, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.__tokens = [token]
        self.__lock = threading.Lock()
        holder = self

        class _Current(Auth.Token):
            @property
            def token(self) -> str:
                return holder.installation_token()

        self.__auth = _Current(token)

    def update(self, token: str) -> None:
        with self.__lock:
            self.__tokens.append(token)
            del self.__tokens[:-4]

    def pygithub_auth(self) -> Auth.Auth:
        return self.__auth

    def installation_token(self) -> str:
        with self.__lock:
            return self.__tokens[-1]

    def secrets(self) -> tuple[str, ...]:
        with self.__lock:
            return tuple(self.__tokens)

    def __repr__(self) -> str:
        return f"HandedToken(base_url={self.base_url!r}, token=***)"

    __str__ = __repr__


class EventOut:
    """Writes events on stdout, one JSON line each, from any thread. A worker that is gone
    (a broken pipe) stops nothing but the writing: the session still ends cleanly."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.gone = False

    def __call__(self, event: SessionEvent) -> None:
        with self._lock:
            if self.gone:
                return
            try:
                self._stream.write(event_line(event))
                self._stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                self.gone = True


class CheckRunEvents:
    """The reporter's check-run observer, as events."""

    def __init__(self, emit: Callable[[SessionEvent], None]) -> None:
        self._emit = emit

    def opened(self, run: CheckRunInfo) -> None:
        self._emit(CheckRun(id=run.id, state="in_progress", head_sha=run.head_sha))

    def concluded(self, check_run_id: int) -> None:
        self._emit(CheckRun(id=check_run_id, state="completed"))


class TeeEngine:
    """An engine whose events also go out as session events (text, tool calls, commands)."""

    def __init__(self, inner: Engine, emit: Callable[[SessionEvent], None]) -> None:
        self.name = inner.name
        self._inner = inner
        self._emit = emit

    async def run(
        self, request: EngineRequest, emit: Callable[[EngineEvent], None]
    ) -> EngineOutcome:
        def both(event: EngineEvent) -> None:
            out = as_session_event(event)
            if out is not None:
                self._emit(out)
            emit(event)

        return await self._inner.run(request, both)


def as_session_event(event: EngineEvent) -> SessionEvent | None:
    match event:
        case AssistantText(text=text):
            return Text(text=text)
        case ToolUse(name=name, summary=summary):
            return ToolCall(name=name, summary=summary)
        case CommandRan(record=record):
            return Command(
                command=record.command,
                exit_code=record.exit_code,
                refused_reason=record.refused_reason,
                timed_out=record.timed_out,
            )
    return None


def result_event(result: SessionResult, *, stopped: bool) -> Result:
    return Result(
        conclusion=result.conclusion.value,
        summary=result.summary,
        error=result.error,
        branch=result.branch,
        pull_number=result.pull_number,
        pull_request_url=result.pull_request_url,
        check_run_url=result.check_run_url,
        turns=result.usage.turns,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
        cost_usd=result.usage.cost_usd,
        github_requests=result.github_requests,
        stopped=stopped,
        features_passing=list(result.features_passing),
        sequence=result.sequence,
        paused_until=result.paused_until,
    )


def is_transient(error: BaseException) -> bool:
    """Whether running the job again later may succeed."""
    from runner.bootstrap import SetupError
    from runner.github.errors import (
        GitHubAuthError,
        GitHubError,
        GitHubNotFoundError,
        GitHubValidationError,
    )
    from runner.workspace.errors import CredentialsInUrl, GitAuthError, UnsupportedUrl

    permanent = (
        GitHubAuthError,
        GitHubNotFoundError,
        GitHubValidationError,
        ValueError,
        SetupError,
        CredentialsInUrl,
        GitAuthError,
        UnsupportedUrl,
    )
    if isinstance(error, GitHubError) and error.status is not None and error.status < 500:
        return error.status == 429
    return not isinstance(error, permanent)


def fresh_work_dir(base: Path | None, repository: str, issue_number: int) -> Path:
    """The issue's own directory for worktrees, emptied first. A session killed outright leaves
    its worktree behind, which keeps its branch checked out in the shared mirror; removing the
    directory lets the runner's `git worktree prune` free the branch. Safe because only one
    session per issue is ever active."""
    root = base or Path(tempfile.gettempdir()) / "autocoder-work"
    directory = root / f"{repository.replace('/', '--')}--issue-{issue_number}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def die_with_parent() -> None:
    """Ask the kernel for SIGTERM when the process that started us dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Controls:
    """Reads control lines from stdin on a thread: `Stop` (or the end of stdin) sets the
    cancel event, `TokenRefresh` updates the credentials."""

    def __init__(self, stream: IO[str], credentials: HandedToken, echo: Callable[[str], None]):
        self._stream = stream
        self._credentials = credentials
        self._echo = echo
        self.loop: asyncio.AbstractEventLoop | None = None
        self.cancel: asyncio.Event | None = None
        self.stopped_by: str | None = None
        self._early_stop = False
        self.steering = SteeringInbox()  # `Tell` lines, for the engine's next turn

    def start(self) -> None:
        threading.Thread(target=self._read, name="controls", daemon=True).start()

    def attach(self, loop: asyncio.AbstractEventLoop, cancel: asyncio.Event) -> None:
        self.loop, self.cancel = loop, cancel
        if self._early_stop:
            loop.call_soon_threadsafe(cancel.set)

    def stop(self, why: str, *, quiet: bool = False) -> None:
        if self.stopped_by is None:
            self.stopped_by = why
            if not quiet:  # a signal handler must not take the event writer's lock
                self._echo(f"stopping: {why}")
        if self.loop is not None and self.cancel is not None:
            self.loop.call_soon_threadsafe(self.cancel.set)
        else:
            self._early_stop = True

    def _read(self) -> None:
        for line in self._stream:
            if not line.strip():
                continue
            try:
                control = parse_control(line)
            except ValueError:
                log.warning("ignored a control line that is not one")
                continue
            if isinstance(control, Stop):
                self.stop(control.reason)
            elif isinstance(control, TokenRefresh):
                self._credentials.update(control.token.get_secret_value())
            elif isinstance(control, Tell):
                self.steering.put(
                    SteerMessage(control.comment_id, control.author, control.text, control.mention)
                )
        self.stop("the worker is gone (stdin closed)")


async def run_order(
    order: WorkOrder,
    emit: Callable[[SessionEvent], None],
    controls: Controls,
    credentials: HandedToken,
) -> SessionEvent:
    """Run the order's session; the event that ends the stream."""
    from runner.bootstrap import (
        bot_login_of,
        load_task,
        make_engine,
        run_until_stopped,
        session_deps,
    )
    from runner.github.client import GitHubClient

    def echo(line: str) -> None:
        emit(Log(line=line))

    cancel = asyncio.Event()
    controls.attach(asyncio.get_running_loop(), cancel)
    settings = order.settings.model_copy(
        update={
            "work_dir": fresh_work_dir(
                order.settings.work_dir, order.repository, order.issue_number
            )
        }
    )
    try:
        with (
            contextlib.ExitStack() as stack,
            GitHubClient(
                credentials,
                seconds_between_writes=order.seconds_between_writes,
                write_burst=order.write_burst,
            ) as github,
        ):
            task = await asyncio.to_thread(
                load_task,
                github,
                kind=order.kind,
                repository=order.repository,
                issue_number=order.issue_number,
                pull_number=order.pull_number,
                review_id=order.review_id,
                actor=order.actor,
                limits=replace(settings.limits(), budgets=order.budgets),
                bot_login=bot_login_of(settings),
                facts=order.facts,
            )
            task = with_features(task, order)
            log.info("task loaded (%d GitHub requests so far)", github.requests_sent)
            engine = TeeEngine(make_engine(settings), emit)
            deps = session_deps(settings, github, credentials, engine, echo=echo)
            if task.features is not None:
                deps.feature_rest = rest = feature_rest(credentials, order)
                stack.callback(rest.close)
            deps.check_run_observer = CheckRunEvents(emit)
            deps.details_url = order.details_url
            deps.events = emit
            deps.resume = order.resume
            deps.steering = controls.steering
            if order.facts is not None:
                deps.repository = order.facts.repository(order.repository)
            result = await run_until_stopped(task, deps, echo, cancel=cancel)
    except Exception as error:
        transient = is_transient(error) or controls.stopped_by is not None
        log.exception("session failed (%s)", "transient" if transient else "permanent")
        return Failure(error=f"{type(error).__name__}: {error}", transient=transient)
    if result.limit is not None:
        emit(LimitReached(reason=result.limit))
    elif result.conclusion is Conclusion.TIMED_OUT:
        emit(LimitReached(reason=result.error or "a limit of the session was reached"))
    return result_event(result, stopped=controls.stopped_by is not None)


def with_features(task: Task, order: WorkOrder) -> Task:
    """A spec (initialize) or feature order's task: the feature tools' scope, and the branch a
    stacked feature builds on (issue #13)."""
    from runner.features.session import FeatureScope

    if order.kind is WorkKind.INITIALIZE:
        return replace(task, features=FeatureScope(spec_issue=order.issue_number))
    if order.kind is WorkKind.FEATURE:
        scope = FeatureScope(spec_issue=order.spec_issue, own_feature=order.issue_number)
        return replace(task, features=scope, base_branch=order.base_branch or task.base_branch)
    return task


def feature_rest(credentials: HandedToken, order: WorkOrder) -> GitHubHTTP:
    """The REST transport of the feature tools, with the order's (refreshed) token."""
    return GitHubHTTP(
        credentials.base_url,
        authorization=credentials.authorization,
        secrets=credentials.secrets,
        seconds_between_writes=order.seconds_between_writes,
    )


def private_pipes() -> tuple[IO[str], IO[str]]:
    """The work-order/control pipe and the event pipe, on descriptors no child inherits: fd 0
    becomes /dev/null and fd 1 the log (stderr), so nothing the session starts (git, the
    model's CLI, a command in the sandbox) can read a token sent later or forge an event."""
    control_fd, event_fd = os.dup(0), os.dup(1)  # os.dup: not inheritable
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return (
        os.fdopen(control_fd, "r", encoding="utf-8"),
        os.fdopen(event_fd, "w", encoding="utf-8"),
    )


WARM_LINE = "imports done"  # logged once warm: a spare from here starts its session at once
WAITING_NAME = b"ac-waiting"  # the process name (/proc/PID/comm) while no order has come
WORKING_NAME = b"ac-session"  # ... and once it has one


def name_process(name: bytes) -> None:
    """Set this process's name as `ps` and /proc/PID/comm show it (Linux; 15 bytes)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, name[:15], 0, 0, 0)


def warm_up() -> None:
    """Import what `run_order` will need (about a second of imports), before the order comes."""
    import runner.bootstrap
    import runner.engines.claude
    import runner.engines.openai
    import runner.github.client
    import runner.session
    import runner.task_loader  # noqa: F401


def main(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    if stdin is None or stdout is None:
        stdin, stdout = private_pipes()
    emit = EventOut(stdout)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s session %(name)s: %(message)s",
        stream=sys.stderr,
    )
    die_with_parent()
    name_process(WAITING_NAME)  # a warm spare, until its order comes
    warm_up()
    log.info("%s: waiting for a work order", WARM_LINE)
    first = stdin.readline()
    name_process(WORKING_NAME)
    if not first:
        log.info("stdin closed before a work order came: nothing to do")
        return EXIT_DONE
    try:
        order = WorkOrder.from_line(first)
    except ValueError as error:  # its text may quote the input, secrets and all: not logged
        log.error("not a work order (%s)", type(error).__name__)
        emit(Failure(error="the session process received no valid work order", transient=False))
        return EXIT_BAD_ORDER
    log.info(
        "job %s attempt %s: %s %s#%s",
        order.job_id,
        order.attempt,
        order.kind.value,
        order.repository,
        order.issue_number,
    )
    credentials = HandedToken(
        order.github_token.get_secret_value(), base_url=order.settings.github_api_url
    )
    emit(Started(session_id=order.session_id, pid=os.getpid()))
    controls = Controls(stdin, credentials, lambda line: emit(Log(line=line)))
    controls.start()
    signal.signal(signal.SIGTERM, lambda signum, frame: controls.stop("SIGTERM", quiet=True))
    last = asyncio.run(run_order(order, emit, controls, credentials))
    emit(last)
    return EXIT_DONE


if __name__ == "__main__":
    sys.exit(main())
