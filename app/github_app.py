"""The App's handle on GitHub: its credentials per installation, its bot login (from `GET /app`,
cached), permission look-ups for the webhook route, and comments.

One per server. Thread-safe: credentials are shared (PyGithub refreshes installation tokens under
a lock), while each call gets its own `GitHubClient` (which is not thread-safe)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.github_sync import GitHubREST, GitHubSyncError
from runner.github.auth import AppCredentials, GitHubCredentials
from runner.github.client import GitHubClient
from runner.github.http import RequestHook
from runner.github.retry import RetryPolicy

# Look-ups made while GitHub waits for the webhook's answer (10 s): few retries, short waits.
WEBHOOK_RETRY = RetryPolicy(
    retries=1,
    backoff_factor=0.25,
    backoff_max=1.0,
    secondary_rate_wait=2.0,
    max_rate_limit_wait=2.0,
    max_total_wait=3.0,
)
WEBHOOK_TIMEOUT_S = 4


class AppGitHub:
    def __init__(
        self,
        app_id: int,
        private_key: str,
        base_url: str,
        *,
        request_hook: RequestHook | None = None,
        permission_ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app_id = app_id
        self.base_url = base_url.rstrip("/")
        # Installation tokens are minted once per installation and shared by every client of
        # this server (webhook permission checks, comments, the reconcile, the sessions' worker).
        self._app = GitHubCredentials.from_app(
            app_id, private_key, base_url=self.base_url, request_hook=request_hook
        )
        self._hook = request_hook
        self.rest = GitHubREST(self.base_url, request_hook=request_hook)
        self._lock = threading.Lock()
        self._installations: dict[int, AppCredentials] = {}
        self._repo_installations: dict[str, int] = {}
        self._bot_login: str | None = None
        self._permissions: dict[tuple[str, str], tuple[str, float]] = {}
        self._permission_ttl = permission_ttl_s
        self._clock = clock

    def __repr__(self) -> str:
        return f"AppGitHub(app_id={self.app_id!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self.rest.close()
        with self._lock:
            installations = list(self._installations.values())
        for credentials in (self._app, *installations):
            credentials.close()

    def jwt(self) -> str:
        return self._app.app_jwt()

    def bot_login(self) -> str:
        """`<slug>[bot]`, the login of the App's own bot (GET /app once, then cached)."""
        with self._lock:
            if self._bot_login is not None:
                return self._bot_login
        data = self.rest.get_app(self.jwt())
        slug = data.get("slug")
        if not isinstance(slug, str) or not slug:
            raise GitHubSyncError("reading the GitHub App: the answer has no slug")
        with self._lock:
            self._bot_login = f"{slug}[bot]"
            return self._bot_login

    def installation(self, installation_id: int) -> AppCredentials:
        with self._lock:
            credentials = self._installations.get(installation_id)
            if credentials is None:
                credentials = self._app.for_installation(installation_id)
                self._installations[installation_id] = credentials
            return credentials

    def installation_id_for(self, repository: str) -> int:
        with self._lock:
            known = self._repo_installations.get(repository.lower())
        if known is not None:
            return known
        installation_id = self.rest.repo_installation_id(self.jwt(), repository)
        with self._lock:
            self._repo_installations[repository.lower()] = installation_id
        return installation_id

    def token_source(self, installation_id: int) -> Callable[[], str]:
        """A callable giving a valid installation token (minted once, refreshed when needed)."""
        return self.installation(installation_id).installation_token

    def client(
        self,
        installation_id: int,
        *,
        for_webhook: bool = False,
        seconds_between_writes: float = 1.0,
    ) -> GitHubClient:
        """A fresh client acting as the installation (close it, or use it in a `with`)."""
        if for_webhook:
            return GitHubClient(
                self.installation(installation_id),
                retry=WEBHOOK_RETRY,
                timeout=WEBHOOK_TIMEOUT_S,
                request_hook=self._hook,
            )
        return GitHubClient(
            self.installation(installation_id),
            request_hook=self._hook,
            seconds_between_writes=seconds_between_writes,
        )

    def client_for(
        self, repository: str, installation_id: int | None, *, seconds_between_writes: float = 1.0
    ) -> GitHubClient:
        """A client acting as the installation on `repository` (looked up when not given)."""
        if installation_id is None:
            installation_id = self.installation_id_for(repository)
        return self.client(installation_id, seconds_between_writes=seconds_between_writes)

    def permission(self, installation_id: int, repository: str, login: str) -> str:
        """`login`'s permission on `repository`, remembered for a short while."""
        key = (repository.lower(), login.lower())
        now = self._clock()
        with self._lock:
            cached = self._permissions.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        with self.client(installation_id, for_webhook=True) as github:
            permission = github.get_permission(repository, login)
        with self._lock:
            self._permissions[key] = (permission, now + self._permission_ttl)
        return permission

    def forget_permissions(self, repository: str | None = None, login: str | None = None) -> None:
        """Drop remembered permissions of `login` on `repository` (None: any), after an event
        that changed access (`member`, `membership`, `organization`, `team`)."""
        repo_key = repository.lower() if repository is not None else None
        login_key = login.lower() if login is not None else None
        with self._lock:
            for key in list(self._permissions):
                if (repo_key is None or key[0] == repo_key) and (
                    login_key is None or key[1] == login_key
                ):
                    del self._permissions[key]

    def comment(self, installation_id: int, repository: str, number: int, body: str) -> None:
        with self.client(installation_id) as github:
            github.create_issue_comment(repository, number, body)
