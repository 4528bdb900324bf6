"""`autocoder sync OWNER/REPO`: reconcile one repository now (mirror its labelled issues, queue
those whose trigger was lost, and mirror the issue graph of its unfinished spec sequences)."""

from __future__ import annotations

import re

import click

from autocoder.commands.errors import settings_error_message

_REPO = re.compile(r"^[\w.-]+/[\w.-]+$")


@click.command("sync")
@click.argument("repository")
def sync_command(repository: str) -> None:
    """Reconcile REPOSITORY (OWNER/REPO) with GitHub, as the GitHub App.

    Lists its open issues labelled with the trigger label (conditional requests: unchanged is
    free), mirrors them and queues each one that nothing was queued for. Then mirrors the
    sub-issues and blockers of every spec whose sequence is not finished. A running
    `autocoder serve` with the same AUTOCODER_DATABASE_URL runs the queued sessions.
    """
    from pydantic import ValidationError

    from app.db.engine import open_database
    from app.github_app import AppGitHub
    from app.github_sync import GitHubSyncError
    from app.reconcile import reconcile_repository
    from app.settings import REGISTER_APP_HELP, AppSettings

    if not _REPO.match(repository) or ".." in repository:
        raise click.BadParameter(
            f"{repository!r} is not OWNER/REPO (for example octo-org/app)",
            param_hint="REPOSITORY",
        )
    try:
        settings = AppSettings()
    except ValidationError as error:
        raise click.ClickException(settings_error_message(error)) from None
    private_key = settings.private_key_pem()
    if settings.github_app_id is None or private_key is None:
        raise click.ClickException(
            "sync acts as the GitHub App: set AUTOCODER_GITHUB_APP_ID and "
            "AUTOCODER_GITHUB_PRIVATE_KEY (or _PATH). " + REGISTER_APP_HELP
        )
    database = open_database(settings.database_url)
    github = AppGitHub(settings.github_app_id, private_key, settings.github_api_url)
    try:
        installation_id = github.installation_id_for(repository)
        result = reconcile_repository(
            database.sessions,
            github,
            repository,
            installation_id=installation_id,
            trigger_label=settings.trigger_label,
        )
    except GitHubSyncError as error:
        raise click.ClickException(str(error)) from None
    finally:
        github.close()
        database.dispose()
    click.echo(result.describe())
    if result.graph.error:
        raise SystemExit(1)
