"""`autocoder chat [PROMPT]`: the local coding assistant, on any OpenAI-compatible endpoint."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click


@click.command("chat")
@click.argument("prompt", nargs=-1)
@click.option("--base-url", help="OpenAI-compatible API root. [env AUTOCODER_BASE_URL]")
@click.option("--model", "-m", help="Model name. [env AUTOCODER_MODEL]")
@click.option("--api-key", help="API key, sent as a bearer token. [env AUTOCODER_API_KEY]")
@click.option(
    "--config",
    "-c",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file to read instead of ~/.autocoder.yaml and ./.autocoder.yaml.",
)
@click.option(
    "--working-dir",
    "-d",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory the assistant works in.",
)
@click.option(
    "--engine",
    default="openai",
    show_default=True,
    help="openai (any /v1/chat/completions endpoint), claude, or an installed provider.",
)
@click.option(
    "--yes", "-y", is_flag=True, help="Run commands outside the allowlist without asking."
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

    root = click.get_current_context().find_root()
    if not root.params.get("verbose"):
        logging.getLogger().setLevel(logging.WARNING)  # the terminal is the assistant's
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
        code = session.repl.run_once(text) if text else session.repl.run()
    finally:
        session.close()
    sys.exit(code)
