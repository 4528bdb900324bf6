"""The `autocoder` command line.

Each subcommand lives in the package it belongs to and is registered here; a subcommand is listed
only once it is built.
"""

from __future__ import annotations

import click

from autocoder import __version__
from autocoder.commands.options import add_verbose, verbose_option


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="autocoder")
@verbose_option
def cli() -> None:
    """autocoder: label a GitHub issue, get a pull request.

    Runs an autonomous coding session for an issue in an isolated workspace, opens a pull
    request, and reports progress through a GitHub check run. Logs go to stderr: autocoder's
    own at INFO, libraries' at WARNING; -v/-vv (before or after the subcommand) for more.
    """


def _register() -> None:
    """Add the subcommands. Each module imports its package lazily, inside the command."""
    from autocoder.commands.action import action_command
    from autocoder.commands.chat import chat_command
    from autocoder.commands.run import run_command
    from autocoder.commands.serve import serve_command
    from autocoder.commands.sync import sync_command
    from autocoder.commands.worker import worker_command

    commands = (run_command, serve_command, worker_command, sync_command, action_command)
    for command in (*commands, chat_command):
        cli.add_command(add_verbose(command))


def main() -> None:
    _register()
    cli(prog_name="autocoder")
