"""How a token reaches git: in one HTTP header, through the environment of one git command.

Never in argv (visible to every user in `ps`), never in a URL (stored in configs and printed
in errors), never in a git config file, never in a log. `GitAuth.env()` builds the variables
for one command; git reads them as `-c` style configuration (`GIT_CONFIG_COUNT`, git ≥ 2.31)
without writing them anywhere.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from runner.workspace.errors import CredentialsInUrl

# The user name GitHub expects with an installation token (any non-empty name works for PATs).
BASIC_USER = "x-access-token"


class GitAuth:
    """Credentials for git over HTTPS. `GitAuth(None)` sends none (public repositories).

    Either way git is told never to prompt, so a missing or refused token fails at once.
    """

    __slots__ = ("_token",)

    def __init__(self, token: str | None) -> None:
        if token is not None:
            if not token:
                raise ValueError("token is empty; pass None for no credentials")
            if any(ch in token for ch in "\r\n\0"):
                raise ValueError("token contains a line break or NUL; refusing to send it")
        self._token = token

    @property
    def has_token(self) -> bool:
        return self._token is not None

    def header(self) -> str | None:
        """The `Authorization` header line, or None without a token."""
        if self._token is None:
            return None
        basic = base64.b64encode(f"{BASIC_USER}:{self._token}".encode()).decode("ascii")
        return f"Authorization: Basic {basic}"

    def redactions(self) -> tuple[str, ...]:
        """Every string derived from the token that must never be shown (longest first)."""
        if self._token is None:
            return ()
        header = self.header()
        assert header is not None
        encoded = header.removeprefix("Authorization: Basic ")
        return tuple(sorted({self._token, encoded}, key=len, reverse=True))

    def env(self) -> dict[str, str]:
        """Environment variables to add to ONE git command's environment."""
        env = {
            "GIT_TERMINAL_PROMPT": "0",  # never wait on a terminal for a user name
            "GIT_ASKPASS": "",  # set and empty: no askpass program either (not even SSH_ASKPASS)
            "GCM_INTERACTIVE": "never",  # Git Credential Manager, where installed
        }
        header = self.header()
        if header is None:
            return env
        entries = [
            # With a token, no credential helper is asked for (or told about) credentials.
            ("credential.helper", ""),
            # An empty value clears extra headers from other config; then ours.
            ("http.extraHeader", ""),
            ("http.extraHeader", header),
        ]
        env["GIT_CONFIG_COUNT"] = str(len(entries))
        for index, (key, value) in enumerate(entries):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    def __repr__(self) -> str:
        return f"GitAuth(token={'<hidden>' if self._token is not None else None})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("GitAuth holds a secret and is not picklable")


def reject_credentials_in_url(url: str) -> None:
    """Raise `CredentialsInUrl` when `url` has a user name or password in it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return
    host = parts.netloc.rpartition("@")[2]
    raise CredentialsInUrl(
        f"clone URL {parts._replace(netloc=host).geturl()!r} carried credentials (not shown); "
        "pass the plain URL and give the token to GitAuth"
    )
