"""Turn settings into the parts a session needs: GitHub credentials and client, engine, deps,
the task, and a run that stops cleanly on a signal.

Shared by `autocoder run`, the Action and the App's session process
(`runner.session_process`), so all three build and run a session the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

from runner.engines.base import Engine
from runner.github.auth import GitHubCredentials
from runner.github.client import GitHubClient
from runner.session import SessionDeps
from runner.settings import RunnerSettings
from runner.task import Limits, SessionResult, Task
from runner.work_order import IssueFacts, WorkKind
from runner.workspace import Identity, MirrorCache

OLLAMA_BASE_URL = "http://localhost:11434/v1"
OLLAMA_MODEL = "llama3.2"


class SetupError(Exception):
    """autocoder is not configured well enough to run; the message says what to set."""


def github_credentials(settings: RunnerSettings, repository: str) -> GitHubCredentials:
    """App credentials (acting as the installation on `repository`) if configured, else a token."""
    api = settings.github_api_url
    private_key = settings.private_key_pem()
    if settings.github_app_id is not None and private_key:
        app = GitHubCredentials.from_app(settings.github_app_id, private_key, base_url=api)
        return app.for_repo(repository)
    if settings.github_token is not None:
        return GitHubCredentials.from_token(settings.github_token.get_secret_value(), base_url=api)
    raise SetupError(
        "no GitHub credentials: set GITHUB_TOKEN (a token that can write to the repository), "
        "or AUTOCODER_GITHUB_APP_ID with AUTOCODER_GITHUB_PRIVATE_KEY or "
        "AUTOCODER_GITHUB_PRIVATE_KEY_PATH"
    )


def make_engine(settings: RunnerSettings) -> Engine:
    if settings.engine == "openai":
        from runner.engines.openai import OpenAICompatibleClient, OpenAIEngine, RetryPolicy
        from runner.engines.openai.prices import ModelPrice

        base_url = settings.base_url or OLLAMA_BASE_URL
        api_key = settings.api_key.get_secret_value() if settings.api_key else None
        model = settings.model or OLLAMA_MODEL
        priced = settings.input_usd_per_mtok is not None or settings.output_usd_per_mtok is not None
        price = ModelPrice(settings.input_usd_per_mtok or 0.0, settings.output_usd_per_mtok or 0.0)
        retry = RetryPolicy(
            pause_after_s=settings.quota_wait_seconds,
            quota_pause_s=settings.quota_pause_seconds,
        )
        return OpenAIEngine(
            lambda: OpenAICompatibleClient(base_url, api_key, retry=retry),
            model=model,
            prices={model: price} if priced else None,
        )
    from runner.engines.claude import ClaudeCredentials, ClaudeEngine

    def secret(value: object) -> str | None:
        return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]

    credentials = ClaudeCredentials(
        api_key=secret(settings.anthropic_api_key),
        oauth_token=secret(settings.claude_code_oauth_token),
        base_url=settings.anthropic_base_url,
    )
    return ClaudeEngine(
        credentials=credentials,
        default_model=settings.model,
        quota_pause_s=settings.quota_pause_seconds,
    )


def session_deps(
    settings: RunnerSettings,
    github: GitHubClient,
    credentials: GitHubCredentials,
    engine: Engine,
    *,
    echo: Callable[[str], None] = lambda line: None,
) -> SessionDeps:
    return SessionDeps(
        github=github,
        engine=engine,
        git_token=credentials.installation_token,
        mirrors=MirrorCache(settings.cache_dir),
        identity=Identity(settings.commit_name, settings.commit_email),
        model=settings.model,
        draft=settings.draft,
        work_dir=settings.work_dir,
        echo=echo,
        sandbox=settings.sandbox,
        checkpoint_interval_s=settings.checkpoint_minutes * 60 or None,
    )


def load_task(
    github: GitHubClient,
    *,
    kind: WorkKind,
    repository: str,
    issue_number: int,
    pull_number: int | None,
    review_id: int | None,
    actor: str | None,
    limits: Limits,
    bot_login: str | None,
    facts: IssueFacts | None = None,
) -> Task:
    """The task for a piece of work: a follow-up on autocoder's pull request, else the issue
    (asked by `actor`, or by the issue's author when nobody is named). `facts`: the issue as
    the webhook described it, read from GitHub only without them."""
    from runner.task_loader import load_follow_up_task, load_issue_task

    if kind is WorkKind.FOLLOW_UP:
        if pull_number is None:
            raise ValueError(f"a follow-up on #{issue_number} names no pull request")
        return load_follow_up_task(
            github,
            repository,
            pull_number,
            issue_number,
            review_id,
            triggered_by=actor or "",
            limits=limits,
        )
    known = facts.issue(issue_number) if facts is not None else None
    if known is None and not actor:
        known = github.get_issue(repository, issue_number)
    return load_issue_task(
        github,
        repository,
        issue_number,
        triggered_by=actor or (known.author if known is not None else ""),
        limits=limits,
        bot_login=bot_login,
        known=known,
        comment_count=facts.comments if facts is not None else None,
    )


def bot_login_of(settings: RunnerSettings) -> str | None:
    """autocoder's own login when it commits as an App's bot (its comments are not the task)."""
    return settings.commit_name if settings.commit_name.endswith("[bot]") else None


async def run_until_stopped(
    task: Task,
    deps: SessionDeps,
    echo: Callable[[str], None],
    *,
    cancel: asyncio.Event | None = None,
) -> SessionResult:
    """The session, stopped cleanly (work committed and pushed, check run completed) on SIGINT
    or SIGTERM — an Actions job being cancelled, a worker stopping its session — or when
    `cancel` is set."""
    from runner.session import run_session

    cancel = cancel or asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop(signum: int) -> None:
        if not cancel.is_set():
            echo(f"received {signal.Signals(signum).name}: stopping, keeping the work so far")
            cancel.set()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not every loop can take signal handlers (NotImplementedError off Unix, RuntimeError off
        # the main thread, ValueError for a signal it refuses); then the process ends the
        # ordinary way and only the session's own limits bound it.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop, signum)
            installed.append(signum)
    try:
        return await run_session(task, deps, cancel=cancel)
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
