"""Settings of the App server, from the environment (`AUTOCODER_*`) and a `.env` file.

Read once by `autocoder serve` / `autocoder sync` and passed in; never a module global. Everything
has an embedded default except the GitHub App's identity (id, private key, webhook secret): without
those the server still starts, serves `/healthz` and says what is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from runner.decide import Rules
from runner.spend import Cap, CapScope

DEFAULT_DATABASE_PATH = Path("~/.autocoder/autocoder.db")
REGISTER_APP_HELP = (
    "Register a GitHub App (Settings → Developer settings → GitHub Apps → New GitHub App) with "
    "webhook URL https://<this server>/api/github/webhooks, a webhook secret, permissions "
    "Contents, Issues, Pull requests and Checks: read & write (Metadata: read), and the events "
    "Issues, Issue comment, Pull request review, Pull request review comment and Check run. "
    "Then set AUTOCODER_GITHUB_APP_ID, AUTOCODER_GITHUB_PRIVATE_KEY_PATH (the .pem file GitHub "
    "gives you) and AUTOCODER_WEBHOOK_SECRET, and restart `autocoder serve`."
)


def default_database_url() -> str:
    return f"sqlite:///{DEFAULT_DATABASE_PATH.expanduser()}"


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTOCODER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    github_app_id: int | None = Field(default=None, gt=0)
    github_private_key: SecretStr | None = None
    github_private_key_path: Path | None = None
    webhook_secret: SecretStr | None = None
    github_api_url: str = "https://api.github.com"

    database_url: str = Field(default_factory=default_database_url)
    trigger_label: str = Field(default="autocoder", min_length=1)
    engine: Literal["claude", "openai"] = "claude"
    model: str | None = None
    concurrency: int = Field(default=1, ge=1, le=256)
    executor: Literal["local", "docker", "actions", "kubernetes"] = "local"
    # The `actions` executor (app.executors.actions): sessions as workflow_dispatch runs.
    public_url: str | None = Field(
        default=None,
        description="the App's URL as people and sessions elsewhere reach it (https://…; "
        "check runs' Details link opens the session's dashboard page there, the actions "
        "executor's runs fetch their work order and report events there unless "
        "AUTOCODER_WORK_ORDER_URL is set)",
    )
    work_order_url: str | None = Field(
        default=None,
        description="the URL at which runs dispatched by this server reach it for their work "
        "orders and reports; unset: AUTOCODER_PUBLIC_URL. With several replicas behind one "
        "webhook URL, give each replica its own address here (an attempt lives in the replica "
        "that dispatched it)",
    )
    actions_repository: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="owner/name of one central repository whose workflow runs every session; "
        "unset: each job's own repository",
    )
    actions_workflow: str = Field(
        default="autocoder-session.yml",
        description="the session workflow's file name under .github/workflows",
    )
    actions_ref: str | None = Field(
        default=None, description="branch or tag the workflow runs from; unset: the default branch"
    )
    actions_start_timeout: float = Field(
        default=600.0,
        gt=0,
        description="seconds a dispatched run has to fetch its work order before the attempt "
        "fails (it never started)",
    )
    actions_silence_timeout: float = Field(
        default=300.0,
        gt=0,
        description="seconds a run may go without reporting (it reports every 10 s) before "
        "the attempt fails (it died)",
    )
    reconcile_interval: float = Field(
        default=300.0, ge=0, description="seconds between reconciles of labelled issues; 0: off"
    )
    webhook_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # Progress of a spec's features (issue #13; the seed's N8N notification): a `test_progress`
    # POST whenever the passing count rises, signed when a secret is set.
    notify_url: str | None = Field(
        default=None,
        description="URL that receives {event: test_progress, passing, total, percentage, "
        "project, timestamp} whenever a spec's passing count rises",
    )
    notify_secret: SecretStr | None = Field(
        default=None,
        description="signs those notifications: X-Autocoder-Signature-256: sha256=HMAC-SHA256",
    )
    # The dashboard (app.dashboard): open to loopback only, unless remote access is allowed,
    # and then only with sign-in.
    allow_remote: bool = Field(
        default=False,
        description="serve the dashboard and API to other machines (sign-in required: set "
        "AUTOCODER_DASHBOARD_USER and AUTOCODER_DASHBOARD_PASSWORD; put HTTPS in front)",
    )
    dashboard_user: str | None = Field(
        default=None, description="user name for HTTP basic sign-in to the dashboard and API"
    )
    dashboard_password: SecretStr | None = Field(
        default=None, description="password for HTTP basic sign-in (at least 12 characters)"
    )
    # Sign-in through GitHub (the App's OAuth credentials, "Client ID" and a client secret
    # from the App's settings page; its callback URL: {public url}/auth/callback).
    github_client_id: str | None = Field(
        default=None,
        description="the GitHub App's client ID: with remote access on, people sign in to the "
        "dashboard through GitHub and see only repositories they can write to",
    )
    github_client_secret: SecretStr | None = Field(
        default=None, description="a client secret of the GitHub App (for that sign-in)"
    )
    github_web_url: str | None = Field(
        default=None,
        description="GitHub's web address for sign-in (https://github.com; GHES: its host); "
        "unset: derived from AUTOCODER_GITHUB_API_URL",
    )
    dashboard_session_secret: SecretStr | None = Field(
        default=None,
        description="signs sign-in cookies (at least 32 characters; the same on every "
        "replica); unset: a random one per start, which signs everybody out on restart",
    )
    # Spend caps across sessions (runner.spend; the session's own: AUTOCODER_MAX_COST_USD and
    # AUTOCODER_MAX_TOKENS). None: no cap. A repository's .github/autocoder.yml may lower them.
    max_cost_usd_per_issue: float | None = Field(
        default=None, gt=0, description="most USD all sessions of one issue may spend"
    )
    max_tokens_per_issue: int | None = Field(
        default=None, gt=0, description="most tokens all sessions of one issue may use"
    )
    max_cost_usd_per_repository_day: float | None = Field(
        default=None, gt=0, description="most USD one repository's sessions may spend per UTC day"
    )
    max_tokens_per_repository_day: int | None = Field(
        default=None, gt=0, description="most tokens one repository's sessions may use per UTC day"
    )
    max_cost_usd_per_installation_month: float | None = Field(
        default=None,
        gt=0,
        description="most USD one installation's sessions may spend per UTC calendar month",
    )
    max_tokens_per_installation_month: int | None = Field(
        default=None,
        gt=0,
        description="most tokens one installation's sessions may use per UTC calendar month",
    )

    @field_validator("github_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.github.com")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(
                "must be a SQLAlchemy URL such as sqlite:////var/lib/autocoder/autocoder.db "
                "or postgresql+psycopg://user@host/autocoder"
            ) from exc
        if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
            return str(url.set(database=str(Path(url.database).expanduser())))
        return value

    @field_validator("github_private_key")
    @classmethod
    def _pem(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            pem = value.get_secret_value().replace("\\n", "\n").strip() + "\n"
            if "PRIVATE KEY-----" not in pem:
                raise ValueError(
                    "must be the App's private key in PEM form ('-----BEGIN RSA PRIVATE KEY-----"
                    " ...'); or set AUTOCODER_GITHUB_PRIVATE_KEY_PATH to the .pem file instead"
                )
            return SecretStr(pem)
        return None

    @field_validator("github_private_key_path")
    @classmethod
    def _pem_path(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        path = value.expanduser()
        if not path.is_file():
            raise ValueError(f"no such file: {path} (the .pem file GitHub gave you)")
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {path}: {exc}") from exc
        if "PRIVATE KEY-----" not in text:
            raise ValueError(f"{path} is not a PEM private key")
        return path

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        return value

    @model_validator(mode="after")
    def _one_key(self) -> AppSettings:
        if self.github_private_key is not None and self.github_private_key_path is not None:
            raise ValueError(
                "set AUTOCODER_GITHUB_PRIVATE_KEY or AUTOCODER_GITHUB_PRIVATE_KEY_PATH, not both"
            )
        return self

    @model_validator(mode="after")
    def _remote_needs_sign_in(self) -> AppSettings:
        if self.dashboard_password is not None and len(self.dashboard_password) < 12:
            raise ValueError("AUTOCODER_DASHBOARD_PASSWORD must be at least 12 characters long")
        if (self.github_client_id is None) != (self.github_client_secret is None):
            raise ValueError(
                "sign-in through GitHub needs both AUTOCODER_GITHUB_CLIENT_ID and "
                "AUTOCODER_GITHUB_CLIENT_SECRET (the GitHub App's OAuth credentials)"
            )
        secret = self.dashboard_session_secret
        if secret is not None and len(secret) < 32:
            raise ValueError("AUTOCODER_DASHBOARD_SESSION_SECRET must be at least 32 characters")
        basic = bool(self.dashboard_user) and self.dashboard_password is not None
        if self.allow_remote and not basic and not self.github_oauth_enabled():
            raise ValueError(
                "AUTOCODER_ALLOW_REMOTE=1 needs sign-in: set AUTOCODER_DASHBOARD_USER and "
                "AUTOCODER_DASHBOARD_PASSWORD, or AUTOCODER_GITHUB_CLIENT_ID and "
                "AUTOCODER_GITHUB_CLIENT_SECRET for sign-in through GitHub (and serve it behind "
                "HTTPS), or leave remote access off to use the dashboard from this machine only"
            )
        return self

    def github_oauth_enabled(self) -> bool:
        return self.github_client_id is not None and self.github_client_secret is not None

    def github_web(self) -> str:
        """GitHub's web address: github.com for api.github.com, the host of a GHES API URL
        (`…/api/v3`), and the API URL itself otherwise (the test emulator serves both)."""
        if self.github_web_url:
            return self.github_web_url.rstrip("/")
        api = self.github_api_url
        if api == "https://api.github.com":
            return "https://github.com"
        return api.removesuffix("/api/v3")

    @model_validator(mode="after")
    def _actions_needs_url(self) -> AppSettings:
        if self.executor == "actions" and not self.runs_url():
            raise ValueError(
                "AUTOCODER_EXECUTOR=actions needs AUTOCODER_WORK_ORDER_URL or "
                "AUTOCODER_PUBLIC_URL: the https:// URL at which the workflow runs reach this "
                "server"
            )
        return self

    def runs_url(self) -> str | None:
        """Where runs this server dispatches reach it (AUTOCODER_WORK_ORDER_URL, else
        AUTOCODER_PUBLIC_URL): the replica holding their attempts."""
        return self.work_order_url or self.public_url or None

    def private_key_pem(self) -> str | None:
        if self.github_private_key is not None:
            return self.github_private_key.get_secret_value()
        if self.github_private_key_path is not None:
            return self.github_private_key_path.expanduser().read_text()
        return None

    def missing(self) -> list[str]:
        """The settings a working App still needs (empty when it is fully configured)."""
        missing = []
        if self.github_app_id is None:
            missing.append("AUTOCODER_GITHUB_APP_ID")
        if self.github_private_key is None and self.github_private_key_path is None:
            missing.append("AUTOCODER_GITHUB_PRIVATE_KEY or AUTOCODER_GITHUB_PRIVATE_KEY_PATH")
        if self.webhook_secret is None:
            missing.append("AUTOCODER_WEBHOOK_SECRET")
        return missing

    @property
    def has_app_credentials(self) -> bool:
        return self.github_app_id is not None and self.private_key_pem() is not None

    def spend_caps(self) -> dict[CapScope, Cap]:
        """The caps across sessions the operator set (scopes without one are left out)."""
        caps = {
            CapScope.ISSUE: Cap(usd=self.max_cost_usd_per_issue, tokens=self.max_tokens_per_issue),
            CapScope.REPOSITORY_DAY: Cap(
                usd=self.max_cost_usd_per_repository_day, tokens=self.max_tokens_per_repository_day
            ),
            CapScope.INSTALLATION_MONTH: Cap(
                usd=self.max_cost_usd_per_installation_month,
                tokens=self.max_tokens_per_installation_month,
            ),
        }
        return {scope: cap for scope, cap in caps.items() if not cap.empty}

    def rules(self, bot_login: str | None) -> Rules:
        return Rules(
            trigger_label=self.trigger_label, bot_login=bot_login, app_id=self.github_app_id
        )
