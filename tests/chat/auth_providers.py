"""Authentication providers the tests plug in by dotted path (tests.chat.auth_providers:...)."""

from __future__ import annotations

import base64

import httpx

from runner.chat.auth import AuthenticationProvider, RefreshingBearerAuth

SSO_TOKEN = "sso-token-from-provider"
BASIC_CREDENTIALS = base64.b64encode(b"alice:s3cret-password").decode()


class SSOProvider(AuthenticationProvider):
    def generate_auth_token(self) -> str | None:
        return SSO_TOKEN


class BasicProvider(AuthenticationProvider):
    def get_basic_credentials(self) -> str | None:
        return BASIC_CREDENTIALS


class CountingTokens:
    """Hands out token-1, token-2, ...; `refresh` says whether the server refused the last."""

    def __init__(self) -> None:
        self.issued: list[tuple[str, bool]] = []

    def __call__(self, refresh: bool) -> str:
        token = f"token-{len(self.issued) + 1}"
        self.issued.append((token, refresh))
        return token


class RefreshingProvider(AuthenticationProvider):
    def __init__(self) -> None:
        self.tokens = CountingTokens()
        self.auth = RefreshingBearerAuth(self.tokens)

    def client_auth(self) -> httpx.Auth | None:
        return self.auth


# A bare httpx.Auth works as a provider too (the older Auto-Coder's
# AuthenticationProviderWithClientSideTokenRefresh was one).
class PlainAuth(httpx.Auth):
    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = "Bearer plain-auth-token"
        yield request
