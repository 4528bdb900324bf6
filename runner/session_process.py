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

Its parts, one job each: `runner.handed_token` (GitHub access), `runner.session_output` (the
events it writes), `runner.session_controls` (the control lines it reads), `runner.session_os`
(pipes, process name, dying with its parent, the work directory); this module runs the order.

Exit status: 0 when it wrote a `Result` or `Failure` (or stdin closed before any order: a
spare nobody needed), 2 when the order was not valid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import IO

from runner.events import Failure, LimitReached, Log, SessionEvent, Started
from runner.github.http import GitHubHTTP
from runner.handed_token import HandedToken
from runner.session_controls import Controls
from runner.session_os import (
    PR_SET_NAME,
    PR_SET_PDEATHSIG,
    WAITING_NAME,
    WARM_LINE,
    WORKING_NAME,
    die_with_parent,
    fresh_work_dir,
    name_process,
    private_pipes,
)
from runner.session_output import (
    CheckRunEvents,
    EventOut,
    TeeEngine,
    as_session_event,
    result_event,
)
from runner.task import Conclusion, Task
from runner.work_order import WorkKind, WorkOrder

log = logging.getLogger("runner.session_process")

EXIT_DONE = 0
EXIT_BAD_ORDER = 2

__all__ = [  # the session's parts, importable from here as before the split
    "EXIT_BAD_ORDER",
    "EXIT_DONE",
    "PR_SET_NAME",
    "PR_SET_PDEATHSIG",
    "WAITING_NAME",
    "WARM_LINE",
    "WORKING_NAME",
    "CheckRunEvents",
    "Controls",
    "EventOut",
    "HandedToken",
    "TeeEngine",
    "as_session_event",
    "die_with_parent",
    "feature_rest",
    "fresh_work_dir",
    "is_transient",
    "main",
    "name_process",
    "private_pipes",
    "result_event",
    "run_order",
    "warm_up",
    "with_features",
]


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
