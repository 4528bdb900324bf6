"""Options that several subcommands share, defined once: `--engine`, `--env-file`,
`-v/--verbose`, and help texts that name each option's environment variable and default.

A setting's environment variable and default are read from the settings model that owns it
(`setting_help`), so the help cannot drift from what the command actually does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

F = TypeVar("F", bound=Callable[..., Any])

ENGINES = ("claude", "openai")
ENGINE_ENV = "AUTOCODER_ENGINE"

# Loggers that are autocoder's own: progress and warnings a user wants by default. Everything
# else (alembic, httpx, urllib3, ...) is a library, quiet below WARNING unless asked for.
OWN_LOGGERS = ("autocoder", "runner", "app", "action")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def with_env_and_default(text: str, *, env: str | None, default: object) -> str:
    """`text` followed by `[env NAME; default: VALUE]`, the way every option says it."""
    parts = [f"env {env}"] if env else []
    parts.append(f"default: {default}")
    return f"{text} [{'; '.join(parts)}]".strip()


def env_name(settings: type[BaseSettings], field: str) -> str:
    """The environment variable a settings field is read from (its first alias, else the
    model's prefix and the field's name)."""
    info = settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices) and alias.choices and isinstance(alias.choices[0], str):
        return alias.choices[0]
    if isinstance(alias, str):
        return alias
    prefix = str(settings.model_config.get("env_prefix") or "")
    return f"{prefix}{field}".upper()


def setting_help(
    settings: type[BaseSettings], field: str, text: str, *, default: object = None
) -> str:
    """Help for an option that overrides a settings field: its env name and its default (the
    field's own unless `default` says it in words)."""
    if default is None:
        default = settings.model_fields[field].default
        default = "none" if default is None else default
    return with_env_and_default(text, env=env_name(settings, field), default=default)


class EngineName(click.ParamType[str]):
    """An engine: `claude` or `openai`; where `providers` is set (chat) also the name of a
    provider installed under the `autocoder.providers` entry point group (checked when the
    session is built, so that nothing is imported to print help)."""

    name = "engine"

    def __init__(self, *, providers: bool = False) -> None:
        self.providers = providers

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(ENGINES) + ("|PROVIDER]" if self.providers else "]")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().lower()
        if text in ENGINES or (self.providers and text):
            return text
        self.fail(f"{value!r} is not one of {', '.join(ENGINES)}", param, ctx)


def env_file_option(func: F) -> F:
    """`--env-file` (default `.env`) of the commands that read the server's settings."""
    option = click.option(
        "--env-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path(".env"),
        show_default=True,
        help="Settings file read at start-up (the environment wins over it); ignored if absent.",
    )
    return option(func)


def engine_option(*, default: str, providers: bool = False) -> Callable[[F], F]:
    """`--engine`, the same for every command: one type, read from AUTOCODER_ENGINE."""
    what = "claude (claude-agent-sdk) or openai (any /v1/chat/completions endpoint)"
    if providers:
        what += ", or an installed provider"
    return click.option(
        "--engine",
        type=EngineName(providers=providers),
        envvar=ENGINE_ENV,
        default=default,
        help=with_env_and_default(what + ".", env=ENGINE_ENV, default=default),
    )


# -- logging ------------------------------------------------------------------------------------


def verbosity(ctx: click.Context | None = None) -> int:
    """How many -v were given, before or after the subcommand."""
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return 0
    return int(ctx.find_root().meta.get("autocoder.verbosity", 0))


def configure_logging(level: int) -> None:
    """0: autocoder's own INFO and up, libraries WARNING and up; 1 (-v): ours DEBUG, libraries
    INFO; 2 (-vv): everything DEBUG."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format=LOG_FORMAT)
    root.setLevel((logging.WARNING, logging.INFO, logging.DEBUG)[min(level, 2)])
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if level else logging.INFO)


def _count_verbosity(ctx: click.Context, param: click.Parameter, value: int) -> None:
    root = ctx.find_root()
    level = int(root.meta.get("autocoder.verbosity", 0)) + (value or 0)
    root.meta["autocoder.verbosity"] = level
    configure_logging(level)


def verbose_param() -> click.Option:
    """`-v/--verbose` (repeatable); the group has it, and so does every subcommand, so it works
    before or after the subcommand's name."""
    return click.Option(
        ["-v", "--verbose"],
        count=True,
        expose_value=False,
        is_eager=True,
        callback=_count_verbosity,
        help="More log detail on stderr: -v for autocoder's debug lines and libraries' info, "
        "-vv for everything.",
    )


def verbose_option(func: F) -> F:
    """Decorate a command (or the group) with `verbose_param`."""
    params: list[click.Parameter] = func.__dict__.setdefault("__click_params__", [])
    params.append(verbose_param())
    return func


def add_verbose(command: click.Command) -> click.Command:
    """Give an already built command `-v/--verbose` (once)."""
    if not any(param.name == "verbose" for param in command.params):
        command.params.append(verbose_param())
    return command
