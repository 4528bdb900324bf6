"""Credentials for GitHub: a token (the Action's GITHUB_TOKEN, a PAT) or a GitHub App.

PyGithub does the work: `Auth.Token`; `Auth.AppAuth` signs the app JWT and
`AppAuth.get_installation_auth(...)` mints installation tokens and refreshes them shortly before
they expire; `GithubIntegration` finds an installation and mints tokens for git. Secrets live in
private attributes and never appear in `repr`/`str` or in error messages.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta

from github import Auth, GithubIntegration
from github.InstallationAuthorization import InstallationAuthorization

from runner.github.retry import RetryPolicy
from runner.github.translate import GITHUB_FAILURES, translate

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
    ) -> AppCredentials:
        return AppCredentials(app_id, private_key, installation_id, base_url=base_url)

    @abstractmethod
    def pygithub_auth(self) -> Auth.Auth:
        """The PyGithub `Auth` for API calls (used only inside runner.github)."""

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
        self.__auth = Auth.Token(self.__token)

    def pygithub_auth(self) -> Auth.Auth:
        return self.__auth

    def installation_token(self) -> str:
        return self.__token

    def secrets(self) -> tuple[str, ...]:
        return (self.__token,)

    def __repr__(self) -> str:
        return f"TokenCredentials(base_url={self.base_url!r}, token=***)"

    __str__ = __repr__


class AppCredentials(GitHubCredentials):
    """A GitHub App: app id + private key (PEM), for one installation (or to look one up)."""

    def __init__(
        self,
        app_id: int | str,
        private_key: str,
        installation_id: int | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        retry: RetryPolicy | None = None,
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
        self.__app_auth = Auth.AppAuth(self.app_id, private_key)
        self.__installation_auth: Auth.AppInstallationAuth | None = None
        self.__integration: GithubIntegration | None = None
        self.__git_token: InstallationAuthorization | None = None
        self.__minted: list[str] = []
        self.__lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"AppCredentials(app_id={self.app_id!r}, installation_id={self.installation_id!r}, "
            f"base_url={self.base_url!r}, private_key=***)"
        )

    __str__ = __repr__

    def _integration(self) -> GithubIntegration:
        with self.__lock:
            if self.__integration is None:
                self.__integration = GithubIntegration(
                    auth=self.__app_auth,
                    base_url=self.base_url,
                    retry=self.__retry.build(),
                    seconds_between_writes=None,
                )
            return self.__integration

    def for_installation(self, installation_id: int) -> AppCredentials:
        """The same App, acting as installation `installation_id`."""
        return AppCredentials(
            self.app_id,
            self.__private_key,
            installation_id,
            base_url=self.base_url,
            retry=self.__retry,
        )

    def installation_id_for(self, repo: str) -> int:
        """The id of this App's installation on `owner/name` (GET /repos/{o}/{r}/installation)."""
        owner, name = split_repo(repo)
        try:
            installation = self._integration().get_repo_installation(owner, name)
            return int(installation.id)
        except GITHUB_FAILURES as exc:
            raise translate(
                exc, f"finding the App installation for {repo}", self.secrets()
            ) from exc

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

    def pygithub_auth(self) -> Auth.Auth:
        installation_id = self._require_installation()
        with self.__lock:
            if self.__installation_auth is None:
                self.__installation_auth = self.__app_auth.get_installation_auth(installation_id)
            return self.__installation_auth

    def installation_token(self) -> str:
        """An installation token for git. It is minted separately from the API client's token, so
        that it can be kept valid for at least `GIT_TOKEN_MIN_VALIDITY` (PyGithub refreshes its
        own only 20 s before expiry, too late for a long push)."""
        installation_id = self._require_installation()
        integration = self._integration()
        with self.__lock:
            current = self.__git_token
            if current is not None and current.expires_at - GIT_TOKEN_MIN_VALIDITY > _now():
                return current.token
            try:
                minted = integration.get_access_token(installation_id)
            except GITHUB_FAILURES as exc:
                raise translate(
                    exc,
                    f"minting an installation token for installation {installation_id}",
                    self.secrets(),
                ) from exc
            self.__git_token = minted
            self.__minted.append(minted.token)
            del self.__minted[:-4]
            return minted.token

    def secrets(self) -> tuple[str, ...]:
        return (self.__private_key, *self.__minted)


def _now() -> datetime:
    return datetime.now(UTC)
