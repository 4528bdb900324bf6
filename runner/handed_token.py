"""GitHub access by the installation token a worker handed a session process (in its work
order), swapped for a fresh one when a `TokenRefresh` control line brings it."""

from __future__ import annotations

import threading

from github import Auth

from runner.github.auth import GitHubCredentials


class HandedToken(GitHubCredentials):
    """GitHub access by an installation token the worker handed over; `update` swaps in a
    fresh one (every later request and git command uses it)."""

    installation = True  # minted for the App's installation: may create check runs

    def __init__(self, token: str, *, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.__tokens = [token]
        self.__lock = threading.Lock()
        holder = self

        class _Current(Auth.Token):
            @property
            def token(self) -> str:
                return holder.installation_token()

        self.__auth = _Current(token)

    def update(self, token: str) -> None:
        with self.__lock:
            self.__tokens.append(token)
            del self.__tokens[:-4]

    def pygithub_auth(self) -> Auth.Auth:
        return self.__auth

    def installation_token(self) -> str:
        with self.__lock:
            return self.__tokens[-1]

    def secrets(self) -> tuple[str, ...]:
        with self.__lock:
            return tuple(self.__tokens)

    def __repr__(self) -> str:
        return f"HandedToken(base_url={self.base_url!r}, token=***)"

    __str__ = __repr__
