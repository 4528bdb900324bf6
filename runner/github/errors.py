"""Typed errors from the GitHub client. Messages say what failed and what to do; they never
contain a token or a private key (see `redact`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


class GitHubError(Exception):
    """A GitHub request failed and retrying here would not help."""

    def __init__(self, message: str, *, status: int | None = None, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        # GitHub may or may not have carried the request out (a 5xx, or a connection that broke
        # after the request went out): a create is retried only after a lookup.
        self.ambiguous = ambiguous

    def __str__(self) -> str:
        return self.message

    @property
    def transient(self) -> bool:
        """Worth trying again later (GitHub unavailable, rate limited, connection trouble)."""
        return (
            self.status is None
            or self.status >= 500
            or self.status == 429
            or isinstance(self, GitHubRateLimitError)
        )


class GitHubAuthError(GitHubError):
    """401, or a 403 that is not a rate limit: the credentials are wrong or lack a permission."""


class GitHubNotFoundError(GitHubError):
    """404: the repository, issue, pull request or check run does not exist (or is not visible)."""


class GitHubValidationError(GitHubError):
    """422: GitHub refused the request's content."""


class GitHubRateLimitError(GitHubError):
    """The rate limit is exhausted for longer than the client is allowed to wait."""

    def __init__(
        self, message: str, *, status: int | None = None, reset_at: datetime | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.reset_at = reset_at


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret that occurs in `text` (only secrets of 8+ characters are considered,
    so that short strings do not mangle ordinary words)."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "***")
    return text
