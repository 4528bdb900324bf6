"""`autocoder serve`: the GitHub App server (webhooks, workers, reconcile, API).

Start-up, in order: read the environment and `.env` once, strictly (a malformed line or an
unknown `AUTOCODER_*` name stops here, naming the file and line), validate every setting (App,
workers, sessions), log them with secrets masked, check the engine (a warning, and `/healthz`
says `degraded`, when no model is configured), bind the port, then start the workers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from autocoder.commands.options import env_file_option
from autocoder.commands.serve_config import load_serve_config
from autocoder.config_reference import help_text

log = logging.getLogger("autocoder.serve")
HELPER_START_TIMEOUT_S = 60  # a helper imports the App in about 2 s


def _epilog() -> str:
    try:
        return help_text()
    except Exception:  # help must always print
        return "Settings: see docs/configuration.md."


@click.command("serve", epilog=_epilog())
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@env_file_option
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes answering the port (SO_REUSEPORT); the first also runs the workers.",
)
def serve_command(host: str, port: int, env_file: Path, log_level: str, processes: int) -> None:
    """Run the GitHub App: receive webhooks at /api/github/webhooks, queue and run sessions.

    Configured by environment variables or a .env file (listed below with their defaults);
    every session runs with the same settings. GET /healthz says what is missing.
    """
    import uvicorn

    from app.main import create_app, start_workers

    config = load_serve_config(env_file, log)
    try:
        app = create_app(config.app, config=config, run_workers=False)
    except Exception as error:  # the database could not be opened or migrated
        raise click.ClickException(f"cannot start: {type(error).__name__}: {error}") from None

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit:  # bound: now sessions may run
                start_workers(app)

    server = Server(
        uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False)
    )
    if processes == 1:
        server.run()
    else:  # helpers answer the port too (app/webhooks/processes.py)
        from app.webhooks import processes as helpers

        try:
            sock = helpers.listening_socket(host, port)
        except OSError as error:
            raise click.ClickException(f"could not listen on {host}:{port}: {error}") from None
        started = helpers.start_helpers(processes - 1, host, port, env_file, log_level)
        try:
            # answer (and look healthy) once every process listens: see app/webhooks/processes.py
            late = helpers.wait_until_listening(started, HELPER_START_TIMEOUT_S)
            if late:
                log.warning(
                    "%d of %d helper processes are not listening after %d s; answering anyway",
                    len(late), len(started), HELPER_START_TIMEOUT_S,
                )  # fmt: skip
            server.run(sockets=[sock])
        except helpers.HelperFailed as error:
            raise click.ClickException(f"cannot start: {error}") from None
        finally:
            helpers.stop_helpers(started)
    if not server.started:
        raise click.ClickException(f"could not listen on {host}:{port}")
