"""`autocoder run OWNER/REPO#N`: one session now, with live progress in the terminal."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import click

from autocoder.commands.errors import settings_error_message
from autocoder.commands.options import engine_option, setting_help, with_env_and_default
from runner.settings import RunnerSettings


def parse_target(target: str) -> tuple[str, int, str | None]:
    """OWNER/REPO, the issue number, and the API root of the GHES host an issue URL is on."""
    from runner.task_loader import IssueReferenceError, parse_issue_reference

    try:
        reference = parse_issue_reference(target)
    except IssueReferenceError as error:
        raise click.BadParameter(str(error), param_hint="TARGET") from None
    return reference.repository, reference.number, reference.api_url


@click.command("run")
@click.argument("target")
@engine_option(default=RunnerSettings.model_fields["engine"].default)
@click.option(
    "--model",
    "-m",
    help=setting_help(RunnerSettings, "model", "Model name.", default="the engine's"),
)
@click.option(
    "--max-turns",
    type=click.IntRange(min=1),
    help=setting_help(RunnerSettings, "max_turns", "Stop after this many model turns."),
)
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0, min_open=True),
    help=setting_help(RunnerSettings, "max_cost_usd", "Stop at this spend, in USD."),
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help=setting_help(RunnerSettings, "timeout_minutes", "Stop after this many minutes."),
)
@click.option(
    "--github-api-url",
    help=setting_help(
        RunnerSettings,
        "github_api_url",
        "GitHub API root, e.g. https://ghe.example.com/api/v3 (an issue URL on another host "
        "implies https://HOST/api/v3).",
    ),
)
@click.option(
    "--requested-by",
    help=with_env_and_default(
        "Login credited as co-author.", env=None, default="the issue's author"
    ),
)
@click.option(
    "--ready/--draft",
    default=None,
    help=setting_help(
        RunnerSettings,
        "draft",
        "Open the pull request ready for review, or as a draft.",
        default="--draft (AUTOCODER_DRAFT=true)",
    ),
)
def run_command(
    target: str,
    engine: str | None,
    model: str | None,
    max_turns: int | None,
    max_cost: float | None,
    timeout: float | None,
    github_api_url: str | None,
    requested_by: str | None,
    ready: bool | None,
) -> None:
    """Run one session for issue TARGET and print the pull request's URL.

    TARGET is OWNER/REPO#N or the issue's URL (https://github.com/OWNER/REPO/issues/N, or
    https://HOST/OWNER/REPO/issues/N on GitHub Enterprise Server).

    Authenticates with GITHUB_TOKEN, or as a GitHub App with AUTOCODER_GITHUB_APP_ID and
    AUTOCODER_GITHUB_PRIVATE_KEY(_PATH). The Claude engine reads ANTHROPIC_API_KEY or
    CLAUDE_CODE_OAUTH_TOKEN; the openai engine AUTOCODER_BASE_URL, AUTOCODER_API_KEY.
    """
    from pydantic import ValidationError

    from runner.bootstrap import (
        SetupError,
        github_credentials,
        load_task,
        make_engine,
        run_until_stopped,
        session_deps,
    )
    from runner.github.client import GitHubClient
    from runner.github.errors import GitHubError
    from runner.preflight import preflight
    from runner.work_order import WorkKind
    from runner.workspace import WorkspaceError

    repository, number, host_api_url = parse_target(target)
    overrides: dict[str, Any] = {
        "engine": engine,
        "model": model,
        "max_turns": max_turns,
        "max_cost_usd": max_cost,
        "timeout_minutes": timeout,
        "github_api_url": github_api_url or _api_url_of(host_api_url),
        "draft": None if ready is None else not ready,
    }
    try:
        settings = RunnerSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        raise click.ClickException(settings_error_message(error)) from None

    def echo(line: str) -> None:
        click.echo(line)

    try:
        credentials = github_credentials(settings, repository)
        # Before any request to GitHub: a missing model key is said here, not on the issue.
        preflight(settings, os.environ)
        with GitHubClient(credentials) as github:
            task = load_task(
                github,
                kind=WorkKind.START,
                repository=repository,
                issue_number=number,
                pull_number=None,
                review_id=None,
                actor=requested_by,
                limits=settings.limits(),
                bot_login=None,
            )
            deps = session_deps(settings, github, credentials, make_engine(settings), echo=echo)
            result = asyncio.run(run_until_stopped(task, deps, echo))
    except (SetupError, GitHubError, WorkspaceError) as error:
        raise click.ClickException(str(error)) from None

    click.echo(f"conclusion: {result.conclusion.value}")
    if result.pull_request_url:
        click.echo(f"pull request: {result.pull_request_url}")
    if result.error:
        click.echo(f"error: {result.error}", err=True)
    if result.conclusion.value not in ("success", "neutral"):
        sys.exit(1)


def _api_url_of(host_api_url: str | None) -> str | None:
    """A GHES issue URL's API root, unless AUTOCODER_GITHUB_API_URL already says where to go."""
    if host_api_url is None or os.environ.get("AUTOCODER_GITHUB_API_URL"):
        return None
    return host_api_url
