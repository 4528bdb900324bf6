"""The `actions` executor: each session runs as a `workflow_dispatch` run of the autocoder
session workflow (`app/executors/autocoder-session.yml`), in the job's repository or in a
central one (`AUTOCODER_ACTIONS_REPOSITORY`).

`launch` opens a remote attempt (`app.executors.remote_orders`); once the worker has written
the work order, the executor dispatches the workflow with three inputs: the work order's id,
this server's URL (`AUTOCODER_WORK_ORDER_URL`, else `AUTOCODER_PUBLIC_URL`: the attempt lives
in the replica that dispatched it, so with several replicas each names its own address) and a
one-time dispatch token. The run fetches its order (`GET /api/work-orders/{id}`), runs the
session process and reports its events (`POST /api/work-orders/{id}/events`,
`app.executors.actions_run`); the worker reads them as from a local session, so the
dashboard, the check run and the caps work the same. A run that never starts or goes silent
ends the attempt with a transient failure (retried within the job's attempts); `stop` sends a
stop and, after the grace period, ends the attempt (the run's next report is refused, and it
stops).

The order a run receives has no host directory in its settings (the runner's machine has its
own) — otherwise it is the order a local session gets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Protocol

import httpx

from app.executors.base import LaunchSpec
from app.executors.remote_orders import RemoteAttempt, RemoteOrders
from runner.events import Failure

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from app.settings import AppSettings

log = logging.getLogger(__name__)

DEFAULT_WORKFLOW = "autocoder-session.yml"
INPUT_ORDER = "work_order_id"
INPUT_APP_URL = "app_url"
INPUT_TOKEN = "token"  # noqa: S105  # the input's name


class DispatchError(RuntimeError):
    """GitHub refused the dispatch; the message says what to fix."""


class Dispatcher(Protocol):
    def dispatch(
        self, repository: str, workflow: str, ref: str | None, inputs: Mapping[str, str]
    ) -> str:
        """Start the workflow; returns the run's URL when GitHub tells it, else ""."""


@dataclass(frozen=True)
class ActionsOptions:
    app_url: str  # this server's URL as the run reaches it (it holds the attempt)
    repository: str | None = None  # a central repository; None: the job's own
    workflow: str = DEFAULT_WORKFLOW
    ref: str | None = None  # None: the repository's default branch


def remote_order(order: dict[str, Any]) -> dict[str, Any]:
    """The work order as a run receives it: no directory of the server's machine."""
    settings = dict(order.get("settings") or {})
    for name in ("AUTOCODER_CACHE_DIR", "AUTOCODER_WORK_DIR", "cache_dir", "work_dir"):
        if name in settings:
            settings[name] = None
    return {**order, "settings": settings}


def dispatch_inputs(options: ActionsOptions, order_id: str, token: str) -> dict[str, str]:
    return {INPUT_ORDER: order_id, INPUT_APP_URL: options.app_url, INPUT_TOKEN: token}


class ActionsSession:
    def __init__(self, remote: RemoteAttempt, orders: RemoteOrders, repository: str) -> None:
        self.remote = remote
        self.orders = orders
        self.repository = repository
        self.run_url = ""
        self.stdin: IO[bytes] = remote.stdin
        self.stdout: IO[bytes] = remote.stdout

    @property
    def description(self) -> str:
        return f"Actions run {self.run_url or 'in ' + self.repository}"

    def wait(self, timeout: float | None = None) -> int | None:
        if not self.remote.ended.wait(timeout):
            return None
        self.orders.close(self.remote.order_id)
        return self.remote.exit_code

    def stop(self, grace_s: float) -> int:
        """The stop line goes to the run in its next report's answer (the worker wrote it);
        a run that has not ended after `grace_s` is cut off: its reports are refused."""
        if not self.remote.ended.wait(max(grace_s, 0)):
            self.remote.end(
                Failure(error="the Actions run did not stop in time", transient=True),
                exit_code=-15,
            )
        self.orders.close(self.remote.order_id)
        return self.remote.exit_code if self.remote.exit_code is not None else -15


class ActionsExecutor:
    name = "actions"

    def __init__(
        self,
        options: ActionsOptions,
        orders: RemoteOrders,
        dispatcher: Dispatcher,
        repository_of: Callable[[int], str],
    ) -> None:
        self.options = options
        self.orders = orders
        self.dispatcher = dispatcher
        self.repository_of = repository_of  # job id → the job's repository

    def launch(self, spec: LaunchSpec) -> ActionsSession:
        repository = self.options.repository or self.repository_of(spec.job_id)
        session: ActionsSession | None = None

        def dispatch(remote: RemoteAttempt, token: str) -> None:
            inputs = dispatch_inputs(self.options, remote.order_id, token)
            try:
                url = self.dispatcher.dispatch(
                    repository, self.options.workflow, self.options.ref, inputs
                )
            except Exception as error:
                log.warning("job %s: dispatching the workflow failed: %s", spec.job_id, error)
                remote.end(
                    Failure(error=f"could not dispatch the workflow: {error}", transient=True)
                )
                return
            if session is not None:
                session.run_url = url
            log.info(
                "job %s: dispatched %s in %s %s",
                spec.job_id,
                self.options.workflow,
                repository,
                url,
            )

        token_box: list[str] = []
        remote, token = self.orders.open(
            spec.job_id,
            spec.attempt,
            transform=remote_order,
            on_order=lambda remote: dispatch(remote, token_box[0]),
        )
        token_box.append(token)
        session = ActionsSession(remote, self.orders, repository)
        return session

    def clean_up(self, job_id: int) -> None:
        """Nothing to remove: a run of an earlier attempt has lost its tokens with the server
        that dispatched it, and its reports are refused."""


class GitHubDispatcher:
    """Dispatches through GitHub's REST API with an installation token of the repository."""

    def __init__(self, api_url: str, token_for: Callable[[str], str], *, timeout: float = 30.0):
        self.api_url = api_url.rstrip("/")
        self.token_for = token_for
        self.timeout = timeout

    def dispatch(
        self, repository: str, workflow: str, ref: str | None, inputs: Mapping[str, str]
    ) -> str:
        headers = {
            "Authorization": f"token {self.token_for(repository)}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        with httpx.Client(base_url=self.api_url, headers=headers, timeout=self.timeout) as http:
            if ref is None:
                answer = http.get(f"/repos/{repository}")
                _raise_for(answer, f"reading {repository}")
                ref = str(answer.json()["default_branch"])
            answer = http.post(
                f"/repos/{repository}/actions/workflows/{workflow}/dispatches",
                json={"ref": ref, "inputs": dict(inputs), "return_run_details": True},
            )
            _raise_for(answer, f"dispatching {workflow} in {repository}")
            if answer.status_code == 200:
                return str(answer.json().get("html_url") or "")
            return ""


def _raise_for(answer: httpx.Response, what: str) -> None:
    if answer.status_code < 400:
        return
    try:
        message = str(answer.json().get("message", ""))
    except ValueError:
        message = answer.text[:200]
    hint = {
        401: "the App's token was refused",
        403: "give the App the Actions permission (read & write), accepted on the installation",
        404: f"is {DEFAULT_WORKFLOW} (or the named workflow) in .github/workflows?",
        422: "the workflow needs `on: workflow_dispatch` with inputs work_order_id, app_url, token",
    }.get(answer.status_code, "")
    raise DispatchError(f"{what}: GitHub answered {answer.status_code} {message}. {hint}".strip())


def app_repository_tokens(app_id: int, private_key: str, api_url: str) -> Callable[[str], str]:
    """Installation tokens of the App for any repository it is installed on (the central
    repository may be in another installation than the job's)."""
    from runner.github.auth import AppCredentials, GitHubCredentials

    app = GitHubCredentials.from_app(app_id, private_key, base_url=api_url)
    by_installation: dict[int, AppCredentials] = {}

    def token(repository: str) -> str:
        installation = app.installation_id_for(repository)
        credentials = by_installation.get(installation)
        if credentials is None:
            credentials = by_installation[installation] = app.for_installation(installation)
        return credentials.installation_token()

    return token


def actions_executor(
    settings: AppSettings, orders: RemoteOrders, sessions: sessionmaker[Session]
) -> ActionsExecutor:
    """The executor `autocoder serve` runs with AUTOCODER_EXECUTOR=actions."""
    from app.queue import store

    private_key = settings.private_key_pem()
    app_url = settings.runs_url()
    if settings.github_app_id is None or private_key is None or not app_url:
        raise DispatchError(
            "the actions executor needs the App's credentials and AUTOCODER_WORK_ORDER_URL "
            "or AUTOCODER_PUBLIC_URL"
        )

    def repository_of(job_id: int) -> str:
        with sessions() as db:
            job = store.get_job(db, job_id)
            if job is None:
                raise DispatchError(f"no job {job_id}")
            return job.repository

    return ActionsExecutor(
        ActionsOptions(
            app_url=app_url,
            repository=settings.actions_repository,
            workflow=settings.actions_workflow,
            ref=settings.actions_ref,
        ),
        orders,
        GitHubDispatcher(
            settings.github_api_url,
            app_repository_tokens(settings.github_app_id, private_key, settings.github_api_url),
        ),
        repository_of,
    )
