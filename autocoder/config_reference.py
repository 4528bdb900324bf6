"""The configuration reference, generated from the settings models:

    python -m autocoder.config_reference > docs/configuration.md

A test keeps docs/configuration.md in step with the models; `autocoder serve --help` shows the
same names and defaults (`help_text`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import SecretStr
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from runner.env_names import env_names

# What each setting is for, where the model's field carries no description.
DESCRIPTIONS: dict[str, str] = {
    "AUTOCODER_GITHUB_APP_ID": "the GitHub App's id (App settings → About)",
    "AUTOCODER_GITHUB_PRIVATE_KEY": "the App's private key, PEM text (`\\n` for newlines)",
    "AUTOCODER_GITHUB_PRIVATE_KEY_PATH": "the App's private key, a .pem file",
    "AUTOCODER_WEBHOOK_SECRET": "the App's webhook secret (never passed to sessions)",
    "AUTOCODER_GITHUB_API_URL": "GitHub's REST root (GHES: https://HOST/api/v3)",
    "AUTOCODER_DATABASE_URL": "SQLAlchemy URL: SQLite file or postgresql+psycopg://…",
    "AUTOCODER_TRIGGER_LABEL": "the label that starts a session",
    "AUTOCODER_ENGINE": "`claude` (Claude Code) or `openai` (any OpenAI-compatible endpoint)",
    "AUTOCODER_MODEL": "model name (default: the engine's own; llama3.2 for openai)",
    "AUTOCODER_CONCURRENCY": "sessions this server runs at once",
    "AUTOCODER_EXECUTOR": "`local` (subprocess) or `docker` (a container per session)",
    "AUTOCODER_WEBHOOK_MAX_BYTES": "largest webhook body accepted",
    "AUTOCODER_LEASE_SECONDS": "a running job's lease; renewed while the session lives",
    "AUTOCODER_HEARTBEAT_SECONDS": "lease renewal interval (default: a third of the lease)",
    "AUTOCODER_POLL_SECONDS": "how often an idle worker looks for jobs",
    "AUTOCODER_MAX_PER_INSTALLATION": "running jobs per installation, across servers",
    "AUTOCODER_RETRY_BACKOFF_SECONDS": "first retry delay after a transient failure",
    "AUTOCODER_RETRY_BACKOFF_MAX_SECONDS": "longest retry delay",
    "AUTOCODER_CANCEL_GRACE_SECONDS": "time a session has to honour a cancel",
    "AUTOCODER_STOP_GRACE_SECONDS": "time a stopped session has to push its work",
    "AUTOCODER_SESSION_LOG_DIR": "session logs (default: `sessions/` beside the SQLite file)",
    "AUTOCODER_GITHUB_SECONDS_BETWEEN_WRITES": "pause between GitHub writes (secondary limits)",
    "AUTOCODER_DOCKER_IMAGE": "image of the docker executor",
    "AUTOCODER_DOCKER_CPUS": "CPUs per session container",
    "AUTOCODER_DOCKER_MEMORY": "memory per session container",
    "AUTOCODER_DOCKER_PIDS": "process limit per session container",
    "AUTOCODER_DOCKER_NETWORK": "network of session containers",
    "AUTOCODER_API_KEY": "key of the OpenAI-compatible endpoint",
    "ANTHROPIC_API_KEY": "Claude engine key (or CLAUDE_CODE_OAUTH_TOKEN)",
    "ANTHROPIC_BASE_URL": "Claude engine endpoint (a proxy or gateway)",
    "CLAUDE_CODE_OAUTH_TOKEN": "Claude engine subscription token (`claude setup-token`)",
    "AUTOCODER_GITHUB_TOKEN": "a token instead of an App (`autocoder run`, the Action)",
    "AUTOCODER_CACHE_DIR": "mirror cache of repositories",
    "AUTOCODER_WORK_DIR": "where session worktrees go (default: a temporary directory)",
    "AUTOCODER_MAX_TURNS": "model turns per session",
    "AUTOCODER_MAX_COST_USD": "spend per session, USD",
    "AUTOCODER_TIMEOUT_MINUTES": "wall-clock limit per session",
    "AUTOCODER_DRAFT": "open pull requests as drafts",
    "AUTOCODER_COMMIT_NAME": "commit author name",
    "AUTOCODER_COMMIT_EMAIL": "commit author email",
}


# Defaults computed at start-up, as a person would write them.
COMPUTED_DEFAULTS: dict[str, str] = {
    "AUTOCODER_DATABASE_URL": "sqlite:///~/.autocoder/autocoder.db",
}


@dataclass(frozen=True)
class Setting:
    names: tuple[str, ...]
    default: str
    description: str
    secret: bool


def _default(field: object) -> str:
    default = getattr(field, "default", PydanticUndefined)
    if getattr(field, "default_factory", None) is not None:
        return "(computed)"
    if default is PydanticUndefined or default is None:
        return "(unset)"
    if isinstance(default, bool):
        return str(default).lower()
    return str(default)


def settings_of(model: type[BaseSettings]) -> Iterator[Setting]:
    for name, names in env_names(model).items():
        field = model.model_fields[name]
        secret = "SecretStr" in str(field.annotation) or field.annotation is SecretStr
        yield Setting(
            names=names,
            default=COMPUTED_DEFAULTS.get(names[0]) or _default(field),
            description=field.description or DESCRIPTIONS.get(names[0], ""),
            secret=secret,
        )


def sections() -> list[tuple[str, str, list[Setting]]]:
    from app.settings import AppSettings
    from app.worker.settings import WorkerSettings
    from runner.settings import RunnerSettings

    seen: set[str] = set()
    out = []
    for title, blurb, model in (
        (
            "The App server",
            "`autocoder serve`: GitHub App, database, engine, workers.",
            AppSettings,
        ),
        ("Workers", "`autocoder serve`: the job queue and executors.", WorkerSettings),
        (
            "Sessions",
            "Every session (`autocoder serve`, `autocoder run`, the Action): model, GitHub, "
            "limits. `autocoder serve` passes its own values to each session.",
            RunnerSettings,
        ),
    ):
        rows = [s for s in settings_of(model) if s.names[0] not in seen]
        seen.update(s.names[0] for s in rows)
        out.append((title, blurb, rows))
    return out


def markdown() -> str:
    lines = [
        "# Configuration reference",
        "",
        "<!-- generated by `python -m autocoder.config_reference > docs/configuration.md`; "
        "do not edit by hand -->",
        "",
        "Settings come from the environment or, for `autocoder serve`, from a `.env` file in the "
        "directory it starts in (the environment wins). A `.env` line that does not parse, or "
        "an `AUTOCODER_*` name that is not listed here, stops `autocoder serve` with the file "
        "and line. Every value `autocoder serve` is started with reaches its sessions, whatever "
        "the executor. Secrets are never logged: `autocoder serve` logs its settings masked.",
        "",
    ]
    for title, blurb, rows in sections():
        lines += [
            f"## {title}",
            "",
            blurb,
            "",
            "| variable | default | what it is |",
            "|---|---|---|",
        ]
        for row in rows:
            names = " or ".join(f"`{n}`" for n in row.names)
            secret = " (secret)" if row.secret else ""
            default = row.default.replace("|", "\\|")
            lines.append(f"| {names} | {default} | {row.description}{secret} |")
        lines.append("")
    return "\n".join(lines)


def help_text() -> str:
    """Settings, defaults and env names for `autocoder serve --help` (click keeps `\\b`
    paragraphs as they are)."""
    lines = ["\b", "Settings (environment or .env; docs/configuration.md):"]
    for _title, _blurb, rows in sections():
        for row in rows:
            lines.append(f"  {row.names[0]:<41} {row.default}")
    return "\n".join(lines)


def main() -> int:
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
