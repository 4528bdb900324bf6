"""Everything `autocoder serve` runs with, read and validated once at start-up.

The process environment and the `.env` file (the environment wins, as in pydantic-settings) are
merged into one mapping; the App's, the worker's and the runner's settings are validated from
it; every session gets the runner's settings in its work order (`app.worker.orders`) and only
what the engine's CLI reads in its environment (`app.worker.env`), whatever the executor. So a
setting in `.env` reaches the session exactly as one in the environment does, and a malformed
one stops the server rather than the first session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url

from app.env_file import read_env_file
from app.settings import AppSettings
from app.worker.settings import WorkerSettings
from runner.env_names import all_env_names, env_names, settings_from
from runner.settings import RunnerSettings

SETTINGS_MODELS: tuple[type[BaseSettings], ...] = (AppSettings, WorkerSettings, RunnerSettings)
DEFAULT_ENV_FILE = Path(".env")


def known_env_names() -> frozenset[str]:
    return all_env_names(SETTINGS_MODELS)


@dataclass(frozen=True)
class ServeConfig:
    app: AppSettings
    worker: WorkerSettings
    runner: RunnerSettings
    environ: Mapping[str, str]  # the process environment over the .env file's variables
    env_file: Path | None = None  # the .env file that was read, if there was one
    from_file: frozenset[str] = frozenset()  # names whose value came from the .env file

    @classmethod
    def load(
        cls, environ: Mapping[str, str], env_file: Path | None = DEFAULT_ENV_FILE
    ) -> ServeConfig:
        """Raises `app.env_file.EnvFileError` or pydantic's `ValidationError`."""
        file_values = read_env_file(env_file, known_env_names()) if env_file is not None else {}
        merged = {**file_values, **environ}
        return cls(
            app=settings_from(AppSettings, merged),
            worker=settings_from(WorkerSettings, merged),
            runner=settings_from(RunnerSettings, merged),
            environ=merged,
            env_file=env_file.resolve() if env_file is not None and file_values else None,
            from_file=frozenset(n for n in file_values if n not in environ),
        )

    @classmethod
    def of(cls, app: AppSettings, environ: Mapping[str, str]) -> ServeConfig:
        """For an App built from settings alone (tests of the routes): the rest from
        `environ`."""
        return cls(
            app=app,
            worker=settings_from(WorkerSettings, environ),
            runner=settings_from(RunnerSettings, environ),
            environ=dict(environ),
        )

    def summary(self) -> list[str]:
        """`NAME=value (source)` for every setting given explicitly, secrets masked; the
        engine, model, executor, concurrency and database always."""
        always = {
            "AUTOCODER_ENGINE",
            "AUTOCODER_MODEL",
            "AUTOCODER_EXECUTOR",
            "AUTOCODER_CONCURRENCY",
            "AUTOCODER_DATABASE_URL",
        }
        upper = {k.upper() for k in self.environ}
        lines: dict[str, str] = {}
        for model in (self.app, self.worker, self.runner):
            for field, names in env_names(type(model)).items():
                given = next((n for n in names if n in upper), None)
                name = given or names[0]
                if name in lines or (given is None and name not in always):
                    continue
                source = (
                    ".env" if given in self.from_file else "environment" if given else "default"
                )
                lines[name] = f"{name}={shown(name, getattr(model, field))} ({source})"
        return [lines[name] for name in sorted(lines)]


def shown(name: str, value: object) -> str:
    """A setting's value as it may appear in a log: secrets masked, passwords out of URLs."""
    if isinstance(value, SecretStr):
        return "****" if value.get_secret_value() else "(empty)"
    if value is None:
        return "(unset)"
    if name.endswith("DATABASE_URL"):
        return make_url(str(value)).render_as_string(hide_password=True)
    if any(word in name for word in ("KEY", "TOKEN", "SECRET", "PASSWORD")):
        return "****"
    return str(value)
