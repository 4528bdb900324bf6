"""The Action's settings: the same environment variables as the rest of autocoder, plus the
Actions defaults that fill what is not set.

`action.yml` maps every input onto one of these variables, and passes an input that was not
given as an empty string; empty means "not set" here, so `autocoder action` run by hand with the
same variables behaves exactly as the Action does.

| variable | from the Actions run, when not set |
| --- | --- |
| `AUTOCODER_GITHUB_API_URL` | `GITHUB_API_URL` (GitHub Enterprise Server works unchanged) |
| `AUTOCODER_CACHE_DIR`, `AUTOCODER_WORK_DIR` | under `RUNNER_TEMP` |

Action-only: `AUTOCODER_TRIGGER_LABEL` (default `autocoder`), `AUTOCODER_ALLOWED_COMMANDS`
(extra allowlist entries, separated by commas, spaces or new lines), `AUTOCODER_BOT_LOGIN`
(autocoder's own login, whose events are ignored; default `github-actions[bot]` with a token),
`AUTOCODER_GITHUB_WRITE_INTERVAL_S` (seconds between GitHub writes, default 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from action.context import ActionsContext
from runner.repo_config import parse_repo_config
from runner.settings import RunnerSettings

ACTIONS_BOT_LOGIN = "github-actions[bot]"
ALLOWED_COMMANDS_VARIABLE = "AUTOCODER_ALLOWED_COMMANDS"


class ActionRunnerSettings(RunnerSettings):
    """`RunnerSettings`, reading an empty variable as unset (an input that was not given)."""

    model_config = SettingsConfigDict(
        env_prefix="AUTOCODER_", extra="ignore", env_ignore_empty=True
    )


class ActionSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTOCODER_", extra="ignore", env_ignore_empty=True
    )

    trigger_label: str = Field(default="autocoder", min_length=1)
    allowed_commands: str = ""
    bot_login: str | None = None
    github_write_interval_s: float = Field(default=1.0, ge=0)

    def extra_allowed_commands(self) -> tuple[str, ...]:
        return parse_allowed_commands(self.allowed_commands)


def parse_allowed_commands(text: str) -> tuple[str, ...]:
    """Command names from the `allowed_commands` input: separated by commas, spaces or new
    lines; checked like `.github/autocoder.yml`'s `allowed_commands` (bare names, never one of
    the hard refusals). Raises `runner.repo_config.RepoConfigError` saying what to fix."""
    names = [name for name in re.split(r"[\s,]+", text) if name]
    if not names:
        return ()
    document = yaml.safe_dump({"allowed_commands": names}, default_flow_style=True)
    config = parse_repo_config(document, source=f"{ALLOWED_COMMANDS_VARIABLE} (allowed_commands)")
    return tuple(dict.fromkeys(config.allowed_commands))


def _is_set(environ: Mapping[str, str], name: str) -> bool:
    return bool(environ.get(name, "").strip())


def runner_overrides(environ: Mapping[str, str], context: ActionsContext) -> dict[str, Any]:
    """Values the Actions run supplies for settings the environment leaves unset."""
    overrides: dict[str, Any] = {}
    if not _is_set(environ, "AUTOCODER_GITHUB_API_URL"):
        overrides["github_api_url"] = context.api_url
    if context.runner_temp is not None:
        base = context.runner_temp / "autocoder"
        if not _is_set(environ, "AUTOCODER_CACHE_DIR"):
            overrides["cache_dir"] = base / "cache"
        if not _is_set(environ, "AUTOCODER_WORK_DIR"):
            overrides["work_dir"] = base / "work"
    return overrides


def load_runner_settings(environ: Mapping[str, str], context: ActionsContext) -> RunnerSettings:
    """`RunnerSettings` from the process environment (as everywhere in autocoder), completed by
    the Actions run. `environ` must be that same environment: it says which variables are set.
    Raises `pydantic.ValidationError`."""
    settings = ActionRunnerSettings(**runner_overrides(environ, context))
    for directory in (settings.cache_dir, settings.work_dir):
        if directory is not None:
            Path(directory).mkdir(parents=True, exist_ok=True)
    return settings


def bot_login(action: ActionSettings, runner: RunnerSettings) -> str | None:
    """autocoder's own login in this run, whose events it ignores: as configured; else, with a
    token, the Actions bot (GITHUB_TOKEN acts as `github-actions[bot]`); with App credentials,
    unknown (the workflow's guard skips bot senders)."""
    if action.bot_login:
        return action.bot_login
    if runner.github_app_id is None:
        return ACTIONS_BOT_LOGIN
    return None
