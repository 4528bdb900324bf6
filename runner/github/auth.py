"""Credentials for GitHub: a token (the Action's GITHUB_TOKEN, a PAT, a token the worker handed
a session) or a GitHub App.

PyGithub signs the App's JWT (`Auth.AppAuth.create_jwt`, its public surface); the installation
token is minted through `GitHubHTTP` (one retry policy, counted like every other request) and is
ONE token for both the API and git, kept valid for at least `GIT_TOKEN_MIN_VALIDITY` (a push
must not outlive it) and re-minted only then. Secrets live in private attributes and never
appear in `repr`/`str` or in error messages.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta

from github import Auth

from runner.github.errors import GitHubError
from runner.github.http import GitHubHTTP, RequestHook
from runner.github.retry import RetryPolicy

DEFAULT_BASE_URL = "https://api.github.com"

# A token handed to git must outlive the push or fetch it is used for.
GIT_TOKEN_MIN_VALIDITY = timedelta(minutes=10)

_REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def split_repo(repo: str) -> tuple[str, str]:
    """`owner/name` → (owner, name); anything else is refused before it reaches a URL."""
    if not _REPO_NAME.fullmatch(repo) or ".." in repo:
        raise ValueError(f"repository must look like 'owner/name', got {repo!r}")
    owner, name = repo.split("/", 1)
    return owner, name


class GitHubCredentials(ABC):
    """How autocoder authenticates to GitHub. Build with `from_token` or `from_app`."""

    base_url: str
    # Whether these credentials act as a GitHub App installation (only those may create check
    # runs); None: unknown, ask GitHub once (`GitHubClient.can_create_check_runs`).
    installation: bool | None = None

    @staticmethod
    def from_token(token: str, *, base_url: str = DEFAULT_BASE_URL) -> TokenCredentials:
        return TokenCredentials(token, base_url=base_url)

    @staticmethod
    def from_app(
        app_id: int | str,
        private_key: str,
        installation_id: int | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        request_hook: RequestHook | None = None,
    ) -> AppCredentials:
        return AppCredentials(
            app_id, private_key, installation_id, base_url=base_url, request_hook=request_hook
        )

    def authorization(self) -> str:
        """The `Authorization` header for API calls: the same token git gets."""
        return f"token {self.installation_token()}"

    @abstractmethod
    def installation_token(self) -> str:
        """A token for git over HTTPS, valid for a while yet (refreshed when needed)."""

    @abstractmethod
    def secrets(self) -> tuple[str, ...]:
        """Every secret these credentials know of, to scrub from messages."""


class TokenCredentials(GitHubCredentials):
    def __init__(self, token: str, *, base_url: str = DEFAULT_BASE_URL) -> None:
        if not token or not token.strip():
            raise ValueError("GitHub token is empty")
        self.__token = token.strip()
        self.base_url = base_url.rstrip("/")

    def installation_token(self) -> str:
        return self.__token

    def secrets(self) -> tuple[str, ...]:
        return (self.__token,)

    def __repr__(self) -> str:
        return f"TokenCredentials(base_url={self.base_url!r}, token=***)"

    __str__ = __repr__


class AppCredentials(GitHubCredentials):
    """A GitHub App: app id + private key (PEM), for one installation (or to look one up).
    Thread-safe; copies made by `for_installation` share nothing but the key."""

    installation = True

    def __init__(
        self,
        app_id: int | str,
        private_key: str,
        installation_id: int | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        retry: RetryPolicy | None = None,
        request_hook: RequestHook | None = None,
    ) -> None:
        if not str(app_id).strip():
            raise ValueError("GitHub App id is empty")
        if "PRIVATE KEY" not in private_key:
            raise ValueError("GitHub App private key must be a PEM ('-----BEGIN ... PRIVATE KEY')")
        self.app_id = str(app_id).strip()
        self.installation_id = installation_id
        self.base_url = base_url.rstrip("/")
        self.__private_key = private_key
        self.__retry = retry or RetryPolicy()
        self.__hook = request_hook
        self.__app_auth = Auth.AppAuth(self.app_id, private_key)
        self.__http: GitHubHTTP | None = None
        self.__token: tuple[str, datetime] | None = None
        self.__minted: list[str] = []
        self.__lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"AppCredentials(app_id={self.app_id!r}, installation_id={self.installation_id!r}, "
            f"base_url={self.base_url!r}, private_key=***)"
        )

    __str__ = __repr__

    def app_jwt(self) -> str:
        """The App's JWT (signed by PyGithub: RS256, `iat` 60 s back, valid minutes)."""
        return self.__app_auth.create_jwt()

    def _as_app(self) -> GitHubHTTP:
        with self.__lock:
            if self.__http is None:
                self.__http = GitHubHTTP(
                    self.base_url,
                    authorization=lambda: f"Bearer {self.app_jwt()}",
                    secrets=self.secrets,
                    retry=self.__retry,
                    request_hook=self.__hook,
                )
            return self.__http

    def close(self) -> None:
        with self.__lock:
            if self.__http is not None:
                self.__http.close()
                self.__http = None

    def for_installation(self, installation_id: int) -> AppCredentials:
        """The same App, acting as installation `installation_id`."""
        return AppCredentials(
            self.app_id,
            self.__private_key,
            installation_id,
            base_url=self.base_url,
            retry=self.__retry,
            request_hook=self.__hook,
        )

    def installation_id_for(self, repo: str) -> int:
        """The id of this App's installation on `owner/name` (GET /repos/{o}/{r}/installation)."""
        owner, name = split_repo(repo)
        operation = f"finding the App installation for {repo}"
        data = self._as_app().get(operation, f"/repos/{owner}/{name}/installation")
        installation_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(installation_id, int):
            raise GitHubError(f"{operation}: the answer has no installation id")
        return installation_id

    def for_repo(self, repo: str) -> AppCredentials:
        """The same App, acting as its installation on `repo`."""
        return self.for_installation(self.installation_id_for(repo))

    def _require_installation(self) -> int:
        if self.installation_id is None:
            raise ValueError(
                "these App credentials have no installation id; use for_repo(repo) or "
                "for_installation(id) first"
            )
        return self.installation_id

    def installation_token(self) -> str:
        """The installation token, for the API and git alike: minted once, and again only when
        less than `GIT_TOKEN_MIN_VALIDITY` of it is left."""
        installation_id = self._require_installation()
        http = self._as_app()
        with self.__lock:
            current = self.__token
            if current is not None and current[1] - GIT_TOKEN_MIN_VALIDITY > _now():
                return current[0]
        operation = f"minting an installation token for installation {installation_id}"
        answer = http.request(
            operation, "POST", f"/app/installations/{int(installation_id)}/access_tokens"
        ).data
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise GitHubError(f"{operation}: the answer has no token")
        expires_at = _parse_time(answer.get("expires_at")) or _now() + timedelta(minutes=59)
        with self.__lock:
            self.__token = (token, expires_at)
            self.__minted.append(token)
            del self.__minted[:-4]
        return token

    def secrets(self) -> tuple[str, ...]:
        return (self.__private_key, *self.__minted)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)
