"""`autocoder chat [PROMPT]`: the local coding assistant, on any OpenAI-compatible endpoint."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from autocoder.commands.options import engine_option, verbosity, with_env_and_default
from runner.chat.config import DEFAULT_BASE_URL as _DEFAULT_BASE_URL
from runner.chat.config import DEFAULT_MODEL as _DEFAULT_MODEL


@click.command("chat")
@click.argument("prompt", nargs=-1)
@click.option(
    "--base-url",
    help=with_env_and_default(
        "OpenAI-compatible API root.", env="AUTOCODER_BASE_URL", default=_DEFAULT_BASE_URL
    ),
)
@click.option(
    "--model",
    "-m",
    help=with_env_and_default("Model name.", env="AUTOCODER_MODEL", default=_DEFAULT_MODEL),
)
@click.option(
    "--api-key",
    help=with_env_and_default(
        "API key, sent as a bearer token.", env="AUTOCODER_API_KEY", default="none"
    ),
)
@click.option(
    "--config",
    "-c",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=with_env_and_default(
        "Config file to read instead of the default ones.",
        env=None,
        default="~/.autocoder.yaml, then ./.autocoder.yaml",
    ),
)
@click.option(
    "--working-dir",
    "-d",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    help=with_env_and_default("Directory the assistant works in.", env=None, default="."),
)
@engine_option(default="openai", providers=True)
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help=with_env_and_default(
        "Run commands outside the allowlist without asking.", env=None, default="ask"
    ),
)
def chat_command(
    prompt: tuple[str, ...],
    base_url: str | None,
    model: str | None,
    api_key: str | None,
    config_file: Path | None,
    working_dir: Path,
    engine: str,
    yes: bool,
) -> None:
    """Chat with a coding assistant that reads, edits and runs things in the working directory.

    With PROMPT, answer it and exit; without, start an interactive session. The default model is
    llama3.2 on Ollama (http://localhost:11434/v1). Settings come from ~/.autocoder.yaml, then
    ./.autocoder.yaml, then the environment, then these options.
    """
    from runner.chat.config import load_config
    from runner.chat.errors import ChatError
    from runner.chat.io import TerminalIO
    from runner.chat.session import build_session

    if not verbosity():
        for name in ("autocoder", "runner", "app", "action"):  # the terminal is the assistant's
            logging.getLogger(name).setLevel(logging.WARNING)
        # The assistant reports retries itself.
        logging.getLogger("runner.engines.openai").setLevel(logging.ERROR)
    try:
        config = load_config(
            home=Path.home(),
            working_dir=working_dir,
            environ=os.environ,
            config_file=config_file,
            flags={"base_url": base_url, "model": model, "api_key": api_key},
        )
        session = build_session(
            config,
            TerminalIO(),
            working_dir=working_dir,
            engine=engine,
            allow_all=yes,
            environ=os.environ,
        )
    except ChatError as error:
        raise click.ClickException(str(error)) from None
    try:
        text = " ".join(prompt).strip()
        if text:
            code = session.repl.run_once(text)
        else:  # piped input: a failed prompt makes the exit status non-zero
            code = session.repl.run(scripted=not sys.stdin.isatty())
    finally:
        session.close()
    sys.exit(code)
