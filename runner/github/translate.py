"""Turn a failed GitHub exchange into our typed `GitHubError`s (pure, but for the clock).

Messages are built from the status and GitHub's own `message` field, never from request headers,
and are passed through `redact` with every secret the client knows of.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from runner.github.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFoundError,
    GitHubRateLimitError,
    GitHubValidationError,
    redact,
)

_UNRESOLVED = (
    "name or service not known",
    "nodename nor servname",
    "name resolution",
    "getaddrinfo",
    "no address associated",
    "errno -2",
    "errno -3",
    "errno -5",
)


def github_message(data: Any) -> str:
    """GitHub's error `message` plus any `errors[].message`/`code`, as one short line."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    if isinstance(data, str):
        return data.strip()[:300]
    if not isinstance(data, Mapping):
        return ""
    parts = [str(data.get("message") or "").strip()]
    errors = data.get("errors")
    if isinstance(errors, list):
        for item in errors[:5]:
            if isinstance(item, Mapping):
                detail = item.get("message") or item.get("code") or ""
                parts.append(str(detail))
            elif isinstance(item, str):
                parts.append(item)
    return "; ".join(p for p in parts if p)[:500]


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if str(key).lower() == name:
            return str(value)
    return None


def rate_limit_reset(headers: Mapping[str, Any] | None) -> datetime | None:
    """When a rate-limited request may be sent again, from `retry-after` or `x-ratelimit-reset`."""
    retry_after = _header(headers, "retry-after")
    if retry_after is not None and retry_after.strip().isdigit():
        return datetime.fromtimestamp(time.time() + int(retry_after), UTC)
    reset = _header(headers, "x-ratelimit-reset")
    if reset is not None and reset.strip().isdigit():
        return datetime.fromtimestamp(int(reset), UTC)
    return None


def is_rate_limited(status: int, data: Any, headers: Mapping[str, Any] | None) -> bool:
    if status == 429:
        return True
    if status != 403:
        return False
    return (
        _header(headers, "x-ratelimit-remaining") == "0"
        or _header(headers, "retry-after") is not None
        or "rate limit" in github_message(data).lower()
    )


def error_for_response(
    operation: str,
    status: int,
    data: Any,
    headers: Mapping[str, Any] | None,
    secrets: Iterable[str],
) -> GitHubError:
    """A `GitHubError` for GitHub's answer `status`, saying what failed and what to do."""
    detail = github_message(data)
    said = f"{status} {detail}".strip()
    error: GitHubError
    if is_rate_limited(status, data, headers):
        reset_at = rate_limit_reset(headers)
        when = f" until {reset_at:%Y-%m-%d %H:%M:%S} UTC" if reset_at else ""
        error = GitHubRateLimitError(
            f"{operation}: GitHub's rate limit is exhausted{when} ({said}). "
            "Wait for the reset, or lower the request rate (fewer concurrent sessions).",
            status=status,
            reset_at=reset_at,
        )
    elif status == 401:
        error = GitHubAuthError(
            f"{operation}: GitHub rejected the credentials ({said}). Check the token, or the "
            "App id, private key and installation id; installation tokens expire after 1 h.",
            status=status,
        )
    elif status == 403:
        error = GitHubAuthError(
            f"{operation}: GitHub refused it ({said}). The token or App installation lacks a "
            "permission this needs (contents, issues, pull requests, checks: write).",
            status=status,
        )
    elif status == 404:
        error = GitHubNotFoundError(
            f"{operation}: not found ({said}). Check the name, and that the App is installed "
            "on the repository or the token can see it.",
            status=status,
        )
    elif status == 422:
        error = GitHubValidationError(
            f"{operation}: GitHub refused the request ({said}).", status=status
        )
    elif status >= 500:
        error = GitHubError(
            f"{operation}: GitHub kept failing ({said}) after retries. GitHub may be "
            "degraded; try again later.",
            status=status,
            ambiguous=True,
        )
    else:
        error = GitHubError(f"{operation}: GitHub answered {said}.", status=status)
    error.message = redact(error.message, secrets)
    error.args = (error.message,)
    return error


def unreachable_reason(exc: BaseException) -> str:
    """Why no connection could be made, in words."""
    text = str(exc).lower()
    if any(marker in text for marker in _UNRESOLVED):
        return "its host name does not resolve (unknown host)"
    if "refused" in text or "errno 111" in text:
        return "connection refused (nothing is listening there)"
    return f"no connection could be made ({type(exc).__name__})"


def error_for_unreachable(
    operation: str, url: str, exc: BaseException, secrets: Iterable[str]
) -> GitHubError:
    return GitHubError(
        redact(
            f"{operation}: could not talk to GitHub at {url.split('?', 1)[0]}: "
            f"{unreachable_reason(exc)}. Check the GitHub API URL (AUTOCODER_GITHUB_API_URL; "
            "https://HOST/api/v3 for GitHub Enterprise Server) and the network.",
            secrets,
        )
    )


def error_for_broken(operation: str, exc: BaseException, secrets: Iterable[str]) -> GitHubError:
    """The connection broke or timed out after the request went out."""
    return GitHubError(
        redact(
            f"{operation}: could not talk to GitHub ({type(exc).__name__}: {exc}). "
            "Check the network and the configured GitHub API URL.",
            secrets,
        ),
        ambiguous=True,
    )
