"""`autocoder serve`: the GitHub App server (webhooks, workers, reconcile, API)."""

from __future__ import annotations

import click

from autocoder.commands.errors import settings_error_message


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
def serve_command(host: str, port: int, log_level: str) -> None:
    """Run the GitHub App: receive webhooks at /api/github/webhooks, queue and run sessions.

    Configured by AUTOCODER_* environment variables (or a .env file): GITHUB_APP_ID,
    GITHUB_PRIVATE_KEY(_PATH), WEBHOOK_SECRET, GITHUB_API_URL, DATABASE_URL (default SQLite at
    ~/.autocoder/autocoder.db), TRIGGER_LABEL, ENGINE, MODEL, CONCURRENCY, EXECUTOR,
    RECONCILE_INTERVAL. GET /healthz says what is missing.
    """
    import uvicorn
    from pydantic import ValidationError

    from app.main import create_app
    from app.settings import AppSettings

    try:
        settings = AppSettings()
    except ValidationError as error:
        raise click.ClickException(settings_error_message(error)) from None
    try:
        app = create_app(settings)
    except Exception as error:  # the database could not be opened or migrated
        raise click.ClickException(f"cannot start: {type(error).__name__}: {error}") from None
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
