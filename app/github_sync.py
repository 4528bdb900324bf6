"""The GitHub REST calls the App makes that `runner.github.GitHubClient` does not: the App itself
(`GET /app`, as the App's JWT), the App's installation on a repository, the conditional
listing of labelled issues that the reconcile runs on (`ETag` → `If-None-Match`, `since`), an
issue's label events (who added a label, and when: `GET …/issues/{n}/events`), and the
conditional listing of an issue's sub-issues or blockers (the issue graph's reconcile).

A thin user of `runner.github.http.GitHubHTTP`, the one GitHub boundary: the same retry and
rate-limit policy, the same error type (`GitHubSyncError` is `GitHubError`), the same request
hook. Tokens travel in the `Authorization` header only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.mirror import parse_time
from runner.github.auth import split_repo
from runner.github.errors import GitHubError
from runner.github.http import MAX_PAGES, GitHubHTTP, RequestHook
from runner.github.retry import RetryPolicy

_log = logging.getLogger(__name__)

PER_PAGE = 100
RELATED_SUB_ISSUES = "sub_issues"
RELATED_BLOCKED_BY = "dependencies/blocked_by"

# One error type for every GitHub call (kept under this name for the App's callers).
GitHubSyncError = GitHubError


@dataclass(frozen=True)
class IssueListing:
    """The answer to a conditional listing: `not_modified` (304, nothing to read) or the issues
    and the first page's ETag to send next time."""

    not_modified: bool
    issues: tuple[Mapping[str, Any], ...] = ()
    etag: str | None = None


@dataclass(frozen=True)
class LabelEvent:
    """A `labeled` / `unlabeled` entry of an issue's events: who changed which label, when, and
    through which App (`app_id`, when an installation made the change)."""

    event: str
    label: str
    actor: str | None
    created_at: datetime | None
    app_id: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelEvent | None:
        event = data.get("event")
        label = data.get("label")
        if event not in ("labeled", "unlabeled") or not isinstance(label, Mapping):
            return None
        name = label.get("name")
        if not isinstance(name, str):
            return None
        actor = data.get("actor")
        login = actor.get("login") if isinstance(actor, Mapping) else None
        app = data.get("performed_via_github_app")
        app_id = app.get("id") if isinstance(app, Mapping) else None
        return cls(
            event=str(event),
            label=name,
            actor=login if isinstance(login, str) else None,
            created_at=parse_time(data.get("created_at")),
            app_id=app_id if isinstance(app_id, int) else None,
        )


def format_since(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubREST:
    """The calls above, over `GitHubHTTP`. Thread-safe."""

    def __init__(
        self,
        base_url: str,
        *,
        request_hook: RequestHook | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = GitHubHTTP(
            self.base_url, retry=retry, request_hook=request_hook, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubREST:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GitHubREST(base_url={self.base_url!r})"

    # -- as the App (JWT) ---------------------------------------------------------------------

    def get_app(self, app_jwt_token: str) -> dict[str, Any]:
        """`GET /app`: the App itself (its `slug` names its bot, `<slug>[bot]`)."""
        data = self._http.get(
            "reading the GitHub App (GET /app)", "/app", authorization=f"Bearer {app_jwt_token}"
        )
        if not isinstance(data, dict):
            raise GitHubSyncError("reading the GitHub App: the answer is not an object")
        return data

    def repo_installation_id(self, app_jwt_token: str, repository: str) -> int:
        """The id of the App's installation on `owner/name`."""
        owner, name = split_repo(repository)
        operation = f"finding the App's installation on {repository}"
        data = self._http.get(
            operation,
            f"/repos/{owner}/{name}/installation",
            authorization=f"Bearer {app_jwt_token}",
        )
        installation_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(installation_id, int):
            raise GitHubSyncError(f"{operation}: the answer has no installation id")
        return installation_id

    # -- as an installation -------------------------------------------------------------------

    def list_labelled_issues(
        self,
        token: Callable[[], str],
        repository: str,
        label: str,
        *,
        etag: str | None = None,
        since: datetime | None = None,
    ) -> IssueListing:
        """Open issues of `repository` with `label`, most recently updated first, updated at
        or after `since`. With `etag` (from the last answer to the same query) an unchanged
        list is answered 304 (`not_modified`), which costs no rate limit. Sorting by update
        time puts any change on the first page, so the first page's ETag stands for the list."""
        owner, name = split_repo(repository)
        params = {
            "state": "open",
            "labels": label,
            "sort": "updated",
            "direction": "desc",
            "per_page": str(PER_PAGE),
        }
        if since is not None:
            params["since"] = format_since(since)
        operation = f"listing issues labelled {label!r} in {repository}"
        url: str | None = f"/repos/{owner}/{name}/issues"
        issues: list[Mapping[str, Any]] = []
        first_etag: str | None = None
        for page in range(MAX_PAGES):
            assert url is not None
            response = self._http.request(
                operation,
                "GET",
                url,
                params=params if page == 0 else None,
                etag=etag if page == 0 else None,
                authorization=f"token {token()}",
            )
            if response.not_modified:
                return IssueListing(not_modified=True, etag=etag)
            if page == 0:
                first_etag = response.etag
            data = response.data
            if not isinstance(data, list):
                raise GitHubSyncError(f"{operation}: the answer is not a list")
            issues.extend(item for item in data if isinstance(item, Mapping))
            url = response.next_url
            if not url:
                break
        else:
            _log.warning("%s: stopped after %d pages", operation, MAX_PAGES)
        return IssueListing(not_modified=False, issues=tuple(issues), etag=first_etag)

    def list_related_issues(
        self,
        token: Callable[[], str],
        repository: str,
        number: int,
        relation: str,
        *,
        etag: str | None = None,
    ) -> IssueListing:
        """The issues related to issue `number` by `relation`: `RELATED_SUB_ISSUES` (its
        sub-issues) or `RELATED_BLOCKED_BY` (the issues blocking it). With `etag` (from the last
        answer) an unchanged list is answered 304 (`not_modified`), which costs no rate limit.
        GitHub allows 100 sub-issues and 50 blockers per issue, so one page of 100 is the whole
        list and its ETag stands for it."""
        if relation not in (RELATED_SUB_ISSUES, RELATED_BLOCKED_BY):
            raise ValueError(f"unknown issue relation {relation!r}")
        owner, name = split_repo(repository)
        what = "sub-issues" if relation == RELATED_SUB_ISSUES else "blockers"
        operation = f"listing the {what} of {repository}#{number}"
        response = self._http.request(
            operation,
            "GET",
            f"/repos/{owner}/{name}/issues/{number}/{relation}",
            params={"per_page": str(PER_PAGE)},
            etag=etag,
            authorization=f"token {token()}",
        )
        if response.not_modified:
            return IssueListing(not_modified=True, etag=etag)
        data = response.data
        if not isinstance(data, list):
            raise GitHubSyncError(f"{operation}: the answer is not a list")
        issues = tuple(item for item in data if isinstance(item, Mapping))
        return IssueListing(not_modified=False, issues=issues, etag=response.etag)

    def list_label_events(
        self, token: Callable[[], str], repository: str, number: int
    ) -> tuple[LabelEvent, ...]:
        """The `labeled` / `unlabeled` events of issue `number`, oldest first (every page, up
        to `MAX_PAGES`; other kinds of event are left out)."""
        owner, name = split_repo(repository)
        operation = f"reading the events of {repository}#{number}"
        url: str | None = f"/repos/{owner}/{name}/issues/{number}/events"
        events: list[LabelEvent] = []
        for page in range(MAX_PAGES):
            assert url is not None
            params = {"per_page": str(PER_PAGE)} if page == 0 else None
            response = self._http.request(
                operation, "GET", url, params=params, authorization=f"token {token()}"
            )
            data = response.data
            if not isinstance(data, list):
                raise GitHubSyncError(f"{operation}: the answer is not a list")
            for item in data:
                event = LabelEvent.from_json(item) if isinstance(item, Mapping) else None
                if event is not None:
                    events.append(event)
            url = response.next_url
            if not url:
                return tuple(events)
        raise GitHubSyncError(f"{operation}: more than {MAX_PAGES} pages of events")
