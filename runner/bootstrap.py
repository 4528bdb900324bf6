"""Turn settings into the parts a session needs: GitHub credentials and client, engine, deps.

Shared by `autocoder run`, the App's worker and the Action, so all three build a session the same
way.
"""

from __future__ import annotations

from collections.abc import Callable

from runner.engines.base import Engine
from runner.github.auth import GitHubCredentials
from runner.github.client import GitHubClient
from runner.session import SessionDeps
from runner.settings import RunnerSettings
from runner.workspace import Identity, MirrorCache

OLLAMA_BASE_URL = "http://localhost:11434/v1"
OLLAMA_MODEL = "llama3.2"


class SetupError(Exception):
    """autocoder is not configured well enough to run; the message says what to set."""


def github_credentials(settings: RunnerSettings, repository: str) -> GitHubCredentials:
    """App credentials (acting as the installation on `repository`) if configured, else a token."""
    api = settings.github_api_url
    private_key = settings.private_key_pem()
    if settings.github_app_id is not None and private_key:
        app = GitHubCredentials.from_app(settings.github_app_id, private_key, base_url=api)
        return app.for_repo(repository)
    if settings.github_token is not None:
        return GitHubCredentials.from_token(settings.github_token.get_secret_value(), base_url=api)
    raise SetupError(
        "no GitHub credentials: set GITHUB_TOKEN (a token that can write to the repository), "
        "or AUTOCODER_GITHUB_APP_ID with AUTOCODER_GITHUB_PRIVATE_KEY or "
        "AUTOCODER_GITHUB_PRIVATE_KEY_PATH"
    )


def make_engine(settings: RunnerSettings) -> Engine:
    if settings.engine == "openai":
        from runner.engines.openai import OpenAICompatibleClient, OpenAIEngine

        base_url = settings.base_url or OLLAMA_BASE_URL
        api_key = settings.api_key.get_secret_value() if settings.api_key else None
        return OpenAIEngine(
            lambda: OpenAICompatibleClient(base_url, api_key),
            model=settings.model or OLLAMA_MODEL,
        )
    from runner.engines.claude import ClaudeCredentials, ClaudeEngine

    def secret(value: object) -> str | None:
        return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]

    credentials = ClaudeCredentials(
        api_key=secret(settings.anthropic_api_key),
        oauth_token=secret(settings.claude_code_oauth_token),
        base_url=settings.anthropic_base_url,
    )
    return ClaudeEngine(credentials=credentials, default_model=settings.model)


def session_deps(
    settings: RunnerSettings,
    github: GitHubClient,
    credentials: GitHubCredentials,
    engine: Engine,
    *,
    echo: Callable[[str], None] = lambda line: None,
) -> SessionDeps:
    return SessionDeps(
        github=github,
        engine=engine,
        git_token=credentials.installation_token,
        mirrors=MirrorCache(settings.cache_dir),
        identity=Identity(settings.commit_name, settings.commit_email),
        model=settings.model,
        draft=settings.draft,
        work_dir=settings.work_dir,
        echo=echo,
        sandbox=settings.sandbox,
    )
