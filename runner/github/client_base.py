"""The plumbing every part of `GitHubClient` shares: the HTTP layer, the per-session caches of
comments and pull requests, and `_create_once` (a non-idempotent POST never done twice)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Self, TypeVar

from runner.github.auth import GitHubCredentials, split_repo
from runner.github.errors import GitHubError
from runner.github.http import GitHubHTTP, RequestHook
from runner.github.retry import RetryPolicy
from runner.github.types import CommentInfo, PullInfo

T = TypeVar("T")

_log = logging.getLogger(__name__)


def _head_branch(head: str) -> str:
    return head.split(":", 1)[1] if ":" in head else head


def _repo_path(repo: str) -> str:
    owner, name = split_repo(repo)
    return f"/repos/{owner}/{name}"


def _object(data: Any, operation: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise GitHubError(f"{operation}: GitHub's answer is not an object")
    return data


class ClientBase:
    """The state and plumbing of one `GitHubClient` (one session); the calls are in the mixins."""

    def __init__(
        self,
        credentials: GitHubCredentials,
        *,
        base_url: str | None = None,
        seconds_between_writes: float = 1.0,
        write_burst: int = 0,
        retry: RetryPolicy | None = None,
        request_hook: RequestHook | None = None,
        timeout: float = 30,
        user_agent: str = "autocoder",
    ) -> None:
        """`base_url` defaults to the credentials' (https://api.github.com unless set); GHES is
        `https://HOST/api/v3`. `request_hook` is called once per HTTP exchange (metrics)."""
        self._credentials = credentials
        self._retry = retry or RetryPolicy()
        self.base_url = (base_url or credentials.base_url).rstrip("/")
        self._http = GitHubHTTP(
            self.base_url,
            authorization=credentials.authorization,
            secrets=credentials.secrets,
            retry=self._retry,
            request_hook=request_hook,
            seconds_between_writes=seconds_between_writes,
            write_burst=write_burst,
            timeout=timeout,
            user_agent=user_agent,
        )
        self._comments: dict[tuple[str, int], list[CommentInfo]] = {}
        self._pulls: dict[tuple[str, int], PullInfo] = {}

    def __repr__(self) -> str:
        return f"GitHubClient(base_url={self.base_url!r}, credentials={self._credentials!r})"

    @property
    def requests_sent(self) -> int:
        """HTTP exchanges with GitHub so far (retries included; token minting is counted by
        the credentials' own hook)."""
        return self._http.requests_sent

    def add_request_hook(self, hook: RequestHook) -> None:
        self._http.add_hook(hook)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------

    def _send(
        self, operation: str, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return _object(self._http.request(operation, method, path, json=payload).data, operation)

    def _remember(self, repo: str, pull: PullInfo) -> PullInfo:
        self._pulls[(repo.lower(), pull.number)] = pull
        return pull

    def _create_once(
        self,
        operation: str,
        post: Callable[[], T],
        lookup: Callable[[], T | None] | None,
    ) -> T:
        """Send a non-idempotent POST without ever doing its work twice.

        A 5xx or a broken connection leaves it unknown whether GitHub did the work: `lookup`
        (if any) checks, and only when it finds nothing is the POST sent again, up to
        `retry.retries` more times with exponential backoff. Rate limits were already waited
        out underneath (GitHub does nothing for a rate-limited request)."""
        attempts = self._retry.retries + 1
        last: GitHubError | None = None
        for attempt in range(1, attempts + 1):
            time.sleep(self._retry.backoff(attempt))
            try:
                return post()
            except GitHubError as error:
                if not error.ambiguous:
                    raise
                last = error
                _log.warning(
                    "%s: attempt %d/%d failed (%s); checking whether it took effect",
                    operation,
                    attempt,
                    attempts,
                    error.status or "connection",
                )
            if lookup is not None:
                found = lookup()
                if found is not None:
                    _log.info("%s: an earlier attempt had succeeded; using its result", operation)
                    return found
        assert last is not None
        raise GitHubError(
            f"{last.message} ({attempts} attempts)", status=last.status, ambiguous=True
        ) from last
