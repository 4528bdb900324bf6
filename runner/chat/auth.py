"""How requests to the model are authenticated.

Modes, in the order they are chosen:

1. SSO (`USE_SSO=true`): a bearer token from the provider's `generate_auth_token()` (or the
   `SSO_TOKEN` variable), sent as `Authorization: Bearer <token>`;
2. server-side token refresh (`SERVER_SIDE_TOKEN_REFRESH=true`): basic credentials from the
   provider's `get_basic_credentials()`, sent as `Authorization: Basic <credentials>`; the server
   refreshes the token behind them;
3. client-side token refresh: an `httpx.Auth` from the provider's `client_auth()`, which sets the
   token on each request and, on a 401, refreshes it and sends the request once more;
4. an API key, sent as `Authorization: Bearer <key>`;
5. nothing (Ollama needs no key).

`auth_headers` from the config are sent in every mode. The provider is plugged in by dotted path
(`llm.auth_provider` / AUTOCODER_AUTH_PROVIDER, `module:attr`) or by the name of an entry point in
the `autocoder.auth_providers` group; when none is named and exactly one such entry point is
installed, that one is used.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field

import httpx

from runner.chat.config import LLMConfig
from runner.chat.errors import ChatError
from runner.chat.plugins import AUTH_PROVIDERS_GROUP, entry_points_of, resolve_plugin

log = logging.getLogger(__name__)

SSO_TOKEN_ENV = "SSO_TOKEN"  # noqa: S105 - a variable name


class AuthenticationProvider:
    """Subclass it and override what your endpoint needs; every hook may return None."""

    def generate_auth_token(self) -> str | None:
        """A bearer token for SSO (used when USE_SSO=true)."""
        return None

    def get_basic_credentials(self) -> str | None:
        """base64 of `user:password`, for server-side token refresh
        (used when SERVER_SIDE_TOKEN_REFRESH=true)."""
        return None

    def client_auth(self) -> httpx.Auth | None:
        """An `httpx.Auth` that sets and refreshes a token itself (used otherwise, when given);
        `RefreshingBearerAuth` does the refresh-on-401 part."""
        return None


class RefreshingBearerAuth(httpx.Auth):
    """A bearer token kept between requests; a 401 refreshes it and sends the request once more.

    Give `fetch_token` (called with `refresh=True` when the server refused the current token), or
    subclass and override `fetch_token`.
    """

    def __init__(self, fetch_token: Callable[[bool], str] | None = None) -> None:
        self._fetch = fetch_token
        self._token: str | None = None
        self._lock = threading.Lock()
        self.refreshes = 0

    def fetch_token(self, refresh: bool) -> str:
        if self._fetch is None:
            raise NotImplementedError(
                "give fetch_token or override RefreshingBearerAuth.fetch_token"
            )
        return self._fetch(refresh)

    def get_bearer_token(self) -> str:
        with self._lock:
            if self._token is None:
                self._token = self.fetch_token(False)
            return self._token

    def refresh_token(self, rejected: str) -> str:
        with self._lock:
            if self._token == rejected:  # another request may have refreshed it already
                self._token = self.fetch_token(True)
                self.refreshes += 1
            assert self._token is not None
            return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.get_bearer_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            log.info("the model endpoint refused the token (401); refreshing it once")
            request.headers["Authorization"] = f"Bearer {self.refresh_token(token)}"
            yield request


class _ClientAuthOnly(AuthenticationProvider):
    """Wraps a plain `httpx.Auth` plugged in where a provider was expected."""

    def __init__(self, auth: httpx.Auth) -> None:
        self._auth = auth

    def client_auth(self) -> httpx.Auth | None:
        return self._auth


@dataclass(frozen=True)
class AuthSetup:
    """What the HTTP client is given: headers, an API key, an `httpx.Auth`."""

    mode: str  # "sso", "server-side token refresh", "client-side token refresh", "API key", "none"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    api_key: str | None = field(default=None, repr=False)
    auth: httpx.Auth | None = None


def load_auth_provider(spec: str | None) -> AuthenticationProvider | None:
    """The provider named by `spec` (entry point name or dotted path), else the only installed."""
    if spec is None:
        installed = entry_points_of(AUTH_PROVIDERS_GROUP)
        if len(installed) != 1:
            if installed:
                names = ", ".join(point.name for point in installed)
                log.info("several authentication providers installed (%s); none chosen", names)
            return None
        spec = installed[0].name
    loaded = resolve_plugin(spec, AUTH_PROVIDERS_GROUP, what="authentication provider")
    return as_provider(loaded, spec)


def as_provider(loaded: object, spec: str) -> AuthenticationProvider:
    if isinstance(loaded, type):
        try:
            loaded = loaded()
        except Exception as exc:
            raise ChatError(f"authentication provider {spec!r} failed to start: {exc}") from exc
    if isinstance(loaded, AuthenticationProvider):
        return loaded
    if isinstance(loaded, httpx.Auth):
        return _ClientAuthOnly(loaded)
    if callable(loaded):
        return as_provider(loaded(), spec)
    raise ChatError(
        f"authentication provider {spec!r} is {type(loaded).__name__}, not an "
        "AuthenticationProvider (runner.chat.auth) or an httpx.Auth"
    )


def build_auth(
    config: LLMConfig, provider: AuthenticationProvider | None, environ: Mapping[str, str]
) -> AuthSetup:
    headers = dict(config.auth_headers)
    if config.use_sso:
        token = provider.generate_auth_token() if provider is not None else None
        token = token or environ.get(SSO_TOKEN_ENV) or None
        if not token:
            raise ChatError(
                "USE_SSO=true but there is no SSO token: plug in an authentication provider "
                "whose generate_auth_token() returns one (llm.auth_provider or "
                f"AUTOCODER_AUTH_PROVIDER), or set {SSO_TOKEN_ENV}"
            )
        headers["Authorization"] = f"Bearer {token}"
        return AuthSetup("sso", headers)
    if config.server_side_token_refresh:
        credentials = provider.get_basic_credentials() if provider is not None else None
        if not credentials:
            raise ChatError(
                "SERVER_SIDE_TOKEN_REFRESH=true but there are no basic credentials: plug in an "
                "authentication provider whose get_basic_credentials() returns them "
                "(llm.auth_provider or AUTOCODER_AUTH_PROVIDER)"
            )
        headers["Authorization"] = f"Basic {credentials}"
        return AuthSetup("server-side token refresh", headers)
    auth = provider.client_auth() if provider is not None else None
    if auth is not None:
        return AuthSetup("client-side token refresh", headers, auth=auth)
    if config.api_key:
        return AuthSetup("API key", headers, api_key=config.api_key)
    return AuthSetup("none", headers)
