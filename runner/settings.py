"""Settings for a session, from the environment (`AUTOCODER_*`, plus the usual names that GitHub
Actions and the model providers use). Read once by the CLI, the App or the Action and passed in;
never a module global."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runner.sandbox.mode import SandboxMode, parse_sandbox_mode
from runner.task import Limits


class RunnerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTOCODER_", extra="ignore")

    engine: Literal["claude", "openai"] = "claude"
    model: str | None = None
    base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1"
    )
    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("AUTOCODER_API_KEY", "OPENAI_API_KEY")
    )
    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL")
    )
    claude_code_oauth_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CLAUDE_CODE_OAUTH_TOKEN")
    )

    github_api_url: str = "https://api.github.com"
    github_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("AUTOCODER_GITHUB_TOKEN", "GITHUB_TOKEN")
    )
    github_app_id: int | None = None
    github_private_key: SecretStr | None = None
    github_private_key_path: Path | None = None

    cache_dir: Path | None = None
    work_dir: Path | None = None
    max_turns: int = Field(default=50, ge=1)
    max_cost_usd: float = Field(default=5.0, gt=0)
    timeout_minutes: float = Field(default=30.0, gt=0)
    max_tokens: int | None = Field(
        default=None, gt=0, description="most tokens (input + output) one session may use"
    )
    stall_seconds: float | None = Field(
        default=600.0,
        gt=0,
        description="no model or tool progress for this long ends the session as timed out "
        "(keep it above the longest command a session runs)",
    )
    loop_repeats: int | None = Field(
        default=5,
        ge=2,
        description="the same tool call with the same result this many times in a row ends the "
        "session as a loop",
    )
    input_usd_per_mtok: float | None = Field(
        default=None,
        ge=0,
        description="openai engine: the model's price per million input tokens (for spend caps)",
    )
    output_usd_per_mtok: float | None = Field(
        default=None,
        ge=0,
        description="openai engine: the model's price per million output tokens",
    )
    checkpoint_minutes: float = Field(
        default=5.0,
        ge=0,
        description="commit and push the work in progress this often (0: no checkpoints)",
    )
    quota_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="a model rate or usage limit asking for a longer wait than this pauses "
        "the session (work pushed, job re-queued for then) instead of waiting or failing",
    )
    quota_pause_seconds: float = Field(
        default=900.0,
        gt=0,
        description="how long a session pauses on a usage limit that names no time",
    )
    draft: bool = True
    commit_name: str = "autocoder[bot]"
    commit_email: str = "autocoder[bot]@users.noreply.github.com"
    sandbox: SandboxMode = Field(
        default=SandboxMode.AUTO,
        description=(
            "auto: commands need bubblewrap (none run without it); container: the session's "
            "container is the sandbox (set by the container executor); off: run commands "
            "unconfined (the operator's explicit choice, stated in every report)"
        ),
    )

    @field_validator("github_api_url", "base_url", "anthropic_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("sandbox", mode="before")
    @classmethod
    def _sandbox_mode(cls, value: object) -> SandboxMode:
        return parse_sandbox_mode(value if isinstance(value, str | SandboxMode) else str(value))

    def limits(self) -> Limits:
        return Limits(
            max_turns=self.max_turns,
            timeout_s=self.timeout_minutes * 60,
            max_cost_usd=self.max_cost_usd,
            max_tokens=self.max_tokens,
            stall_s=self.stall_seconds,
            loop_repeats=self.loop_repeats,
        )

    def private_key_pem(self) -> str | None:
        if self.github_private_key is not None:
            return self.github_private_key.get_secret_value()
        if self.github_private_key_path is not None:
            return self.github_private_key_path.read_text()
        return None
