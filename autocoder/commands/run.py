"""`autocoder run OWNER/REPO#N`: one session now, with live progress in the terminal."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from typing import Any

import click

from autocoder.commands.errors import settings_error_message

_TARGET = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)#(?P<number>\d+)$")


def parse_target(target: str) -> tuple[str, int]:
    match = _TARGET.match(target.strip())
    if match is None:
        raise click.BadParameter(
            f"{target!r} is not OWNER/REPO#N (for example octo-org/app#12)", param_hint="TARGET"
        )
    return match.group("repo"), int(match.group("number"))


@click.command("run")
@click.argument("target")
@click.option("--engine", type=click.Choice(["claude", "openai"]), help="[env AUTOCODER_ENGINE]")
@click.option("--model", "-m", help="Model name. [env AUTOCODER_MODEL]")
@click.option("--max-turns", type=click.IntRange(min=1), help="[env AUTOCODER_MAX_TURNS]")
@click.option("--max-cost", type=click.FloatRange(min=0, min_open=True), help="USD cap.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Minutes.")
@click.option("--github-api-url", help="GitHub API root, e.g. https://ghe.example.com/api/v3.")
@click.option("--requested-by", help="Login credited as co-author (default: the issue's author).")
@click.option("--ready/--draft", default=None, help="Open the pull request ready for review.")
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
    """Run one session for issue TARGET (OWNER/REPO#N) and print the pull request's URL.

    Authenticates with GITHUB_TOKEN, or as a GitHub App with AUTOCODER_GITHUB_APP_ID and
    AUTOCODER_GITHUB_PRIVATE_KEY(_PATH). The Claude engine reads ANTHROPIC_API_KEY or
    CLAUDE_CODE_OAUTH_TOKEN; the openai engine AUTOCODER_BASE_URL, AUTOCODER_API_KEY.
    """
    from pydantic import ValidationError

    from runner.bootstrap import SetupError, github_credentials, make_engine, session_deps
    from runner.github.client import GitHubClient
    from runner.github.errors import GitHubError
    from runner.preflight import preflight
    from runner.session import run_session
    from runner.settings import RunnerSettings
    from runner.task_loader import load_issue_task
    from runner.workspace import WorkspaceError

    repository, number = parse_target(target)
    overrides: dict[str, Any] = {
        "engine": engine,
        "model": model,
        "max_turns": max_turns,
        "max_cost_usd": max_cost,
        "timeout_minutes": timeout,
        "github_api_url": github_api_url,
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
            issue = github.get_issue(repository, number)
            task = load_issue_task(
                github,
                repository,
                number,
                triggered_by=requested_by or issue.author,
                limits=settings.limits(),
            )
            deps = session_deps(settings, github, credentials, make_engine(settings), echo=echo)
            result = asyncio.run(run_session(task, deps))
    except (SetupError, GitHubError, WorkspaceError) as error:
        raise click.ClickException(str(error)) from None

    click.echo(f"conclusion: {result.conclusion.value}")
    if result.pull_request_url:
        click.echo(f"pull request: {result.pull_request_url}")
    if result.error:
        click.echo(f"error: {result.error}", err=True)
    if result.conclusion.value not in ("success", "neutral"):
        sys.exit(1)
