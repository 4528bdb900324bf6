"""Turn PyGithub / requests / urllib3 failures into our typed `GitHubError`s.

Messages are built from the status and GitHub's own `message` field, never from request headers,
and are passed through `redact` with every secret the client knows of.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from github.GithubException import GithubException, RateLimitExceededException
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from runner.github.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFoundError,
    GitHubRateLimitError,
    GitHubValidationError,
    redact,
)

TRANSIENT_EXCEPTIONS: tuple[type[Exception], ...] = (
    requests.RequestException,
    Urllib3Error,
)
# Everything a PyGithub call may raise for a failed request.
GITHUB_FAILURES: tuple[type[Exception], ...] = (GithubException, *TRANSIENT_EXCEPTIONS)


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


def is_rate_limited(exc: GithubException) -> bool:
    if isinstance(exc, RateLimitExceededException) or exc.status == 429:
        return True
    if exc.status != 403:
        return False
    return (
        _header(exc.headers, "x-ratelimit-remaining") == "0"
        or _header(exc.headers, "retry-after") is not None
        or "rate limit" in github_message(exc.data).lower()
    )


def _unreachable(exc: BaseException) -> str | None:
    """Why no connection could be made, in words (None: the failure was something else)."""
    reason: object = exc
    for _ in range(5):
        if isinstance(reason, NameResolutionError):
            return "its host name does not resolve (unknown host)"
        if isinstance(reason, NewConnectionError):
            if "refused" in str(reason).lower():
                return "connection refused (nothing is listening there)"
            return "no connection could be made"
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        elif isinstance(reason, requests.RequestException) and reason.args:
            reason = reason.args[0]
        else:
            return None
    return None


def _request_url(exc: BaseException) -> str | None:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    if isinstance(url, str) and url:
        return url.split("?", 1)[0]
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError) and reason.pool is not None and reason.url:
        pool = reason.pool
        default = {"http": 80, "https": 443}.get(pool.scheme or "")
        port = "" if pool.port in (None, default) else f":{pool.port}"
        return f"{pool.scheme}://{pool.host}{port}{reason.url.split('?', 1)[0]}"
    return None


def translate(exc: BaseException, operation: str, secrets: Iterable[str]) -> GitHubError:
    """A `GitHubError` saying what failed (`operation`) and what to do about it."""
    secrets = tuple(secrets)
    if isinstance(exc, GitHubError):
        return exc
    if isinstance(exc, GithubException):
        status = exc.status
        detail = github_message(exc.data)
        said = f"{status} {detail}".strip()
        error: GitHubError
        if is_rate_limited(exc):
            reset_at = rate_limit_reset(exc.headers)
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
            )
        else:
            error = GitHubError(f"{operation}: GitHub answered {said}.", status=status)
        error.message = redact(error.message, secrets)
        error.args = (error.message,)
        return error
    unreachable = _unreachable(exc)
    if unreachable is not None:
        url = _request_url(exc) or "the GitHub API URL"
        return GitHubError(
            redact(
                f"{operation}: could not talk to GitHub at {url}: {unreachable}. Check the "
                "GitHub API URL (AUTOCODER_GITHUB_API_URL; https://HOST/api/v3 for GitHub "
                "Enterprise Server) and the network.",
                secrets,
            )
        )
    if isinstance(exc, TRANSIENT_EXCEPTIONS):
        return GitHubError(
            redact(
                f"{operation}: could not talk to GitHub ({type(exc).__name__}: {exc}). "
                "Check the network and the configured GitHub API URL.",
                secrets,
            )
        )
    return GitHubError(redact(f"{operation}: {type(exc).__name__}: {exc}", secrets))
