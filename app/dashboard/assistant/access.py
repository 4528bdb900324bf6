"""What the assistant reaches for one repository, as the App's installation: the default
branch's mirror (read only) and the feature tools that write to GitHub; and the model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.dashboard.assistant.loop import WriteTool
from app.dashboard.assistant.proposals import WRITE_TOOLS
from app.dashboard.assistant.reader import RepoReader
from app.github_app import AppGitHub
from runner.chat.anthropic_provider import DEFAULT_BASE_URL, DEFAULT_MODEL, AnthropicProvider
from runner.chat.provider import ChatProvider, OpenAICompatibleProvider, ProviderSettings
from runner.features.store import FeatureStore
from runner.features.tools import FeatureTools
from runner.github.http import GitHubHTTP
from runner.github.issue_graph import IssueGraph
from runner.settings import RunnerSettings
from runner.tools.registry import ToolSpec
from runner.workspace.git_auth import GitAuth
from runner.workspace.mirror import MirrorCache


class AssistantUnavailable(RuntimeError):
    """The assistant cannot work here; the message says what to configure."""


def provider_for(settings: RunnerSettings) -> ChatProvider:
    """The model the assistant talks to: the OpenAI-compatible engine's endpoint, or (the
    Claude engine) Anthropic's Messages API with ANTHROPIC_API_KEY at ANTHROPIC_BASE_URL."""
    if settings.engine == "claude":
        if settings.anthropic_api_key is None or not settings.anthropic_api_key.get_secret_value():
            raise AssistantUnavailable(
                "the project assistant calls the Anthropic API directly and needs an API key: "
                "set ANTHROPIC_API_KEY (a Claude Code OAuth token is not enough), or use the "
                "OpenAI-compatible engine (AUTOCODER_ENGINE=openai, AUTOCODER_BASE_URL)"
            )
        return AnthropicProvider(
            ProviderSettings(
                base_url=settings.anthropic_base_url or DEFAULT_BASE_URL,
                model=settings.model or DEFAULT_MODEL,
                api_key=settings.anthropic_api_key.get_secret_value(),
            )
        )
    if not settings.base_url:
        raise AssistantUnavailable(
            "the project assistant needs AUTOCODER_BASE_URL with the OpenAI-compatible engine "
            "(AUTOCODER_ENGINE=openai)"
        )
    key = settings.api_key.get_secret_value() if settings.api_key is not None else None
    return OpenAICompatibleProvider(
        ProviderSettings(base_url=settings.base_url, model=settings.model or "default", api_key=key)
    )


@dataclass
class RepositoryAccess:
    github: AppGitHub
    repository: str
    installation_id: int
    mirrors: MirrorCache

    def _token(self) -> str:
        return self.github.token_source(self.installation_id)()

    def reader(self) -> RepoReader:
        """The default branch's mirror, brought up to date (git reads only)."""
        with self.github.client(self.installation_id) as client:
            info = client.get_repository(self.repository)
        mirror = self.mirrors.update(info.clone_url, GitAuth(self._token()))
        return RepoReader(mirror, f"refs/remotes/origin/{info.default_branch}")

    def feature_specs(self) -> tuple[list[ToolSpec], Callable[[], None]]:
        """The feature tools that write (for their schemas, and to run a confirmed change),
        and how to close their HTTP client."""
        rest = GitHubHTTP(
            self.github.base_url,
            authorization=lambda: f"token {self._token()}",
            secrets=lambda: (self._token(),),
        )
        tools = FeatureTools(FeatureStore(IssueGraph(rest, self.repository)))
        return [spec for spec in tools.specs() if spec.name in WRITE_TOOLS], rest.close


def write_tools(specs: list[ToolSpec]) -> list[WriteTool]:
    return [WriteTool(s.name, s.description, s.parameters) for s in specs]
