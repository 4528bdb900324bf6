"""A per-client hook that sees every HTTP exchange PyGithub makes (for metrics).

PyGithub has no public per-client request hook: its connection class is chosen per `Requester`
(`Requester.injectConnectionClasses` exists, but is global to the process and turns off
connection reuse). We therefore replace the connection factory of one `Requester` instance with
a subclass that reports each response, including the attempts urllib3 retried underneath it
(recorded in the final response's retry history). If a PyGithub release renames the attribute,
`install_request_hook` fails loudly instead of silently counting nothing.
"""

from __future__ import annotations

import functools
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from github.GithubException import GithubException
from github.Requester import (
    HTTPRequestsConnectionClass,
    HTTPSRequestsConnectionClass,
    Requester,
    RequestsResponse,
)

from runner.github.types import RequestRecord

RequestHook = Callable[[RequestRecord], None]

_log = logging.getLogger(__name__)
_FACTORY_ATTR = "_Requester__connectionClass"


def _path(url: str) -> str:
    return urllib.parse.urlsplit(url).path or url


def _remaining(headers: Mapping[str, Any] | None) -> int | None:
    if not headers:
        return None
    for key, value in headers.items():
        if str(key).lower() == "x-ratelimit-remaining":
            try:
                return int(float(value))
            except (TypeError, ValueError):
                return None
    return None


def _emit(hook: RequestHook, record: RequestRecord) -> None:
    try:
        hook(record)
    except Exception:  # a metrics hook must never break a GitHub call
        _log.exception("GitHub request hook failed")


def _report(hook: RequestHook, verb: str, url: str, response: RequestsResponse) -> None:
    raw = getattr(response.response, "raw", None)
    retries = getattr(raw, "retries", None)
    for attempt in getattr(retries, "history", ()) or ():
        if attempt.status is not None:
            path = _path(attempt.url or url)
            _emit(hook, RequestRecord(verb, path, int(attempt.status), None))
    _emit(hook, RequestRecord(verb, _path(url), response.status, _remaining(response.headers)))


class _HookedHTTPConnection(HTTPRequestsConnectionClass):
    def __init__(self, *args: Any, hook: RequestHook, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hook = hook

    def getresponse(self) -> RequestsResponse:
        try:
            response = super().getresponse()
        except GithubException as exc:  # GithubRetry raises for a final, non-retryable 403
            _emit(self._hook, RequestRecord(self.verb, _path(self.url), exc.status, None))
            raise
        _report(self._hook, self.verb, self.url, response)
        return response


class _HookedHTTPSConnection(HTTPSRequestsConnectionClass):
    def __init__(self, *args: Any, hook: RequestHook, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hook = hook

    def getresponse(self) -> RequestsResponse:
        try:
            response = super().getresponse()
        except GithubException as exc:
            _emit(self._hook, RequestRecord(self.verb, _path(self.url), exc.status, None))
            raise
        _report(self._hook, self.verb, self.url, response)
        return response


def install_request_hook(requester: Requester, hook: RequestHook) -> None:
    """Report every HTTP exchange of `requester` to `hook`. Call before its first request."""
    current = getattr(requester, _FACTORY_ATTR, None)
    if current is None:
        raise RuntimeError(
            "this PyGithub version has no per-requester connection class; "
            "the GitHub request hook cannot be installed (pin PyGithub or update transport.py)"
        )
    hooked = _HookedHTTPSConnection if requester.scheme == "https" else _HookedHTTPConnection
    setattr(requester, _FACTORY_ATTR, functools.partial(hooked, hook=hook))
