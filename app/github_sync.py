"""The GitHub REST calls the App makes that `runner.github.GitHubClient` does not: the App itself
(`GET /app`, as the App's JWT), the App's installation on a repository, the conditional
listing of labelled issues that the reconcile runs on (`ETag` → `If-None-Match`, `since`), and
an issue's label events (who added a label, and when: `GET …/issues/{n}/events`).

PyGithub cannot send conditional requests and hand back a 304, so these go straight to the REST
API over httpx. Tokens travel in the `Authorization` header only; they never appear in a URL, a
log line or an error message.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from app.mirror import parse_time
from runner.github.auth import split_repo
from runner.github.transport import RequestHook
from runner.github.types import RequestRecord

_log = logging.getLogger(__name__)

ACCEPT = "application/vnd.github+json"
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 50


class GitHubSyncError(Exception):
    """A REST call of the App failed; the message says which and why (never a secret)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        """Worth trying again later (GitHub unavailable, rate limited, connection trouble)."""
        return self.status is None or self.status >= 500 or self.status in (403, 429)


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


def app_jwt(app_id: int | str, private_key: str, *, now: float | None = None) -> str:
    """The App's JWT (RS256, issued 60 s in the past against clock drift, valid 9 minutes)."""
    issued = int(now if now is not None else time.time()) - 60
    claims = {"iat": issued, "exp": issued + 600, "iss": str(app_id)}
    return jwt.encode(claims, private_key, algorithm="RS256")


def format_since(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase or "no message"
    if isinstance(data, Mapping) and isinstance(data.get("message"), str):
        return str(data["message"])
    return response.reason_phrase or "no message"


def _remaining(response: httpx.Response) -> int | None:
    value = response.headers.get("x-ratelimit-remaining")
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


class GitHubREST:
    """A small REST client for the calls above. Thread-safe (one httpx client, no other state)."""

    def __init__(
        self,
        base_url: str,
        *,
        request_hook: RequestHook | None = None,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = urllib.parse.urlsplit(self.base_url)[:2]
        self._hook = request_hook
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            headers={
                "Accept": ACCEPT,
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "autocoder",
            },
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubREST:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GitHubREST(base_url={self.base_url!r})"

    def _send(
        self,
        operation: str,
        url: str,
        authorization: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        if urllib.parse.urlsplit(url)[:2] != self._origin:
            raise GitHubSyncError(f"{operation}: GitHub pointed at another host; not following")
        request_headers = {"Authorization": authorization, **(headers or {})}
        try:
            response = self._http.get(url, params=params, headers=request_headers)
        except httpx.HTTPError as exc:
            raise GitHubSyncError(f"{operation}: {type(exc).__name__}: {exc}") from None
        if self._hook is not None:
            path = urllib.parse.urlsplit(url).path
            record = RequestRecord("GET", path, response.status_code, _remaining(response))
            try:
                self._hook(record)
            except Exception:  # a metrics hook must never break a GitHub call
                _log.exception("GitHub request hook failed")
        if response.status_code >= 400:
            raise GitHubSyncError(
                f"{operation}: GitHub answered {response.status_code}: {_message(response)}",
                response.status_code,
            )
        return response

    # -- as the App (JWT) ---------------------------------------------------------------------

    def get_app(self, app_jwt_token: str) -> dict[str, Any]:
        """`GET /app`: the App itself (its `slug` names its bot, `<slug>[bot]`)."""
        response = self._send(
            "reading the GitHub App (GET /app)", f"{self.base_url}/app", f"Bearer {app_jwt_token}"
        )
        data = response.json()
        if not isinstance(data, dict):
            raise GitHubSyncError("reading the GitHub App: the answer is not an object")
        return data

    def repo_installation_id(self, app_jwt_token: str, repository: str) -> int:
        """The id of the App's installation on `owner/name`."""
        owner, name = split_repo(repository)
        url = f"{self.base_url}/repos/{owner}/{name}/installation"
        operation = f"finding the App's installation on {repository}"
        data = self._send(operation, url, f"Bearer {app_jwt_token}").json()
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
        url: str | None = f"{self.base_url}/repos/{owner}/{name}/issues"
        headers = {"If-None-Match": etag} if etag else None
        issues: list[Mapping[str, Any]] = []
        first_etag: str | None = None
        for page in range(MAX_PAGES):
            assert url is not None
            response = self._send(
                operation,
                url,
                f"token {token()}",
                params=params if page == 0 else None,
                headers=headers if page == 0 else None,
            )
            if response.status_code == 304:
                return IssueListing(not_modified=True, etag=etag)
            if page == 0:
                first_etag = response.headers.get("etag")
            data = response.json()
            if not isinstance(data, list):
                raise GitHubSyncError(f"{operation}: the answer is not a list")
            issues.extend(item for item in data if isinstance(item, Mapping))
            url = response.links.get("next", {}).get("url")
            if not url:
                break
        else:
            _log.warning("%s: stopped after %d pages", operation, MAX_PAGES)
        return IssueListing(not_modified=False, issues=tuple(issues), etag=first_etag)

    def list_label_events(
        self, token: Callable[[], str], repository: str, number: int
    ) -> tuple[LabelEvent, ...]:
        """The `labeled` / `unlabeled` events of issue `number`, oldest first (every page, up
        to `MAX_PAGES`; other kinds of event are left out)."""
        owner, name = split_repo(repository)
        operation = f"reading the events of {repository}#{number}"
        url: str | None = f"{self.base_url}/repos/{owner}/{name}/issues/{number}/events"
        events: list[LabelEvent] = []
        for page in range(MAX_PAGES):
            assert url is not None
            params = {"per_page": str(PER_PAGE)} if page == 0 else None
            response = self._send(operation, url, f"token {token()}", params=params)
            data = response.json()
            if not isinstance(data, list):
                raise GitHubSyncError(f"{operation}: the answer is not a list")
            for item in data:
                event = LabelEvent.from_json(item) if isinstance(item, Mapping) else None
                if event is not None:
                    events.append(event)
            url = response.links.get("next", {}).get("url")
            if not url:
                return tuple(events)
        raise GitHubSyncError(f"{operation}: more than {MAX_PAGES} pages of events")
