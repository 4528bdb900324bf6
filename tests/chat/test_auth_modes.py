"""Each way of authenticating sends the right header to the (scripted) model endpoint."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from runner.chat.auth import (
    AuthenticationProvider,
    RefreshingBearerAuth,
    build_auth,
    load_auth_provider,
)
from runner.chat.config import LLMConfig, load_config
from runner.chat.errors import ChatError
from runner.chat.session import build_session
from tests.chat import auth_providers
from tests.chat.fakes import FakeIO, autocoder_exe, chat_env
from tests.scripted_model import Fault, ModelServer, Turn, running_model_server

PROVIDERS = "tests.chat.auth_providers"


def ask(server: ModelServer, tmp_path: Path, environ: dict[str, str], **flags: Any) -> FakeIO:
    """One prompt through the assembled assistant, as `autocoder chat "hi"` would send it."""
    config = load_config(
        home=tmp_path,
        working_dir=tmp_path,
        environ=environ,
        flags={"base_url": server.base_url, "model": "scripted-model", **flags},
    )
    io = FakeIO()
    session = build_session(config, io, working_dir=tmp_path, environ=environ)
    try:
        assert session.repl.run_once("hi") == 0, io.text
    finally:
        session.close()
    return io


def test_api_key_is_sent_as_a_bearer_token(tmp_path: Path) -> None:
    with running_model_server("openai", ["hello"]) as server:
        ask(server, tmp_path, {}, api_key="sk-flag-key")
    assert server.requests[0].headers["authorization"] == "Bearer sk-flag-key"


def test_openai_api_key_is_the_fallback(tmp_path: Path) -> None:
    with running_model_server("openai", ["hello"]) as server:
        ask(server, tmp_path, {"OPENAI_API_KEY": "sk-openai"})
    assert server.requests[0].headers["authorization"] == "Bearer sk-openai"


def test_no_key_no_authorization_header(tmp_path: Path) -> None:
    with running_model_server("openai", ["hello"]) as server:
        ask(server, tmp_path, {})
    assert "authorization" not in server.requests[0].headers


def test_sso_sends_the_providers_bearer_token(tmp_path: Path) -> None:
    env = {"USE_SSO": "true", "AUTOCODER_AUTH_PROVIDER": f"{PROVIDERS}:SSOProvider"}
    with running_model_server("openai", ["hello"]) as server:
        ask(server, tmp_path, env, api_key="sk-not-used")
    assert server.requests[0].headers["authorization"] == f"Bearer {auth_providers.SSO_TOKEN}"


def test_sso_token_from_the_environment_without_a_provider(tmp_path: Path) -> None:
    with running_model_server("openai", ["hello"]) as server:
        ask(server, tmp_path, {"USE_SSO": "1", "SSO_TOKEN": "env-sso-token"})
    assert server.requests[0].headers["authorization"] == "Bearer env-sso-token"


def test_sso_without_a_token_says_how_to_get_one() -> None:
    with pytest.raises(ChatError, match="AUTOCODER_AUTH_PROVIDER"):
        build_auth(LLMConfig(use_sso=True), AuthenticationProvider(), {})


def test_server_side_refresh_sends_basic_credentials(tmp_path: Path) -> None:
    env = {
        "SERVER_SIDE_TOKEN_REFRESH": "true",
        "AUTOCODER_AUTH_PROVIDER": f"{PROVIDERS}:BasicProvider",
    }
    with running_model_server("openai", ["hello"]) as server:
        ask(server, tmp_path, env)
    expected = f"Basic {auth_providers.BASIC_CREDENTIALS}"
    assert server.requests[0].headers["authorization"] == expected


def test_custom_headers_from_the_config_file_are_sent(tmp_path: Path) -> None:
    (tmp_path / ".autocoder.yaml").write_text(
        "llm:\n  auth_headers:\n    X-Custom-Auth: team-token\n    X-API-Version: 2024-01\n"
    )
    with running_model_server("openai", ["hello"]) as server:
        ask(server, tmp_path, {}, api_key="sk-key")
    headers = server.requests[0].headers
    assert headers["x-custom-auth"] == "team-token"
    assert headers["x-api-version"] == "2024-01"
    assert headers["authorization"] == "Bearer sk-key"


def test_client_side_refresh_after_a_401(tmp_path: Path) -> None:
    provider = auth_providers.RefreshingProvider()
    script = [Turn(text="hello after refresh", fault=Fault(status=401, times=1))]
    with running_model_server("openai", script) as server:
        config = LLMConfig(base_url=server.base_url, model="scripted-model")
        io = FakeIO()
        chat = build_session(config, io, working_dir=tmp_path, environ={}, auth_provider=provider)
        try:
            assert chat.auth is not None and chat.auth.mode == "client-side token refresh"
            assert chat.repl.run_once("hi") == 0, io.text
        finally:
            chat.close()
    first, second = server.requests
    assert (first.role, first.status, first.headers["authorization"]) == (
        "fault",
        401,
        "Bearer token-1",
    )
    assert (second.role, second.headers["authorization"]) == ("turn", "Bearer token-2")
    assert provider.tokens.issued == [("token-1", False), ("token-2", True)]
    assert "hello after refresh" in io.text


def test_client_side_refresh_by_dotted_path_through_the_command_line(tmp_path: Path) -> None:
    script = [Turn(text="refreshed fine", fault=Fault(status=401, times=1))]
    (tmp_path / "home").mkdir()
    with running_model_server("openai", script) as server:
        done = subprocess.run(
            [autocoder_exe(), "chat", "hi", "-d", str(tmp_path), "--base-url", server.base_url],
            env=chat_env(
                tmp_path / "home", AUTOCODER_AUTH_PROVIDER=f"{PROVIDERS}:RefreshingProvider"
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "refreshed fine" in done.stdout
    assert [r.headers["authorization"] for r in server.requests] == [
        "Bearer token-1",
        "Bearer token-2",
    ]


def test_a_second_401_is_not_retried_again(tmp_path: Path) -> None:
    script = [Turn(text="never", fault=Fault(status=401, times=2))]
    with running_model_server("openai", script) as server:
        config = LLMConfig(base_url=server.base_url, model="scripted-model")
        io = FakeIO()
        provider = auth_providers.RefreshingProvider()
        chat = build_session(config, io, working_dir=tmp_path, environ={}, auth_provider=provider)
        try:
            assert chat.repl.run_once("hi") == 1
        finally:
            chat.close()
    assert len(server.requests) == 2
    assert "401" in io.text and "client-side token refresh" in io.text


def test_a_plain_httpx_auth_is_accepted_as_a_provider() -> None:
    provider = load_auth_provider(f"{PROVIDERS}:PlainAuth")
    assert provider is not None
    setup = build_auth(LLMConfig(), provider, {})
    assert isinstance(setup.auth, auth_providers.PlainAuth)


def test_a_provider_path_that_does_not_import_is_a_clear_error() -> None:
    with pytest.raises(ChatError, match="has no Missing"):
        load_auth_provider(f"{PROVIDERS}:Missing")
    with pytest.raises(ChatError, match="no authentication provider named 'nope'"):
        load_auth_provider("nope")


def test_refreshing_auth_refreshes_only_on_401() -> None:
    tokens = auth_providers.CountingTokens()
    auth = RefreshingBearerAuth(tokens)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200 if request.headers["authorization"] != "Bearer token-2" else 500)

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.get("http://model.test/")
        client.get("http://model.test/")
    assert seen == ["Bearer token-1", "Bearer token-1"]
    assert tokens.issued == [("token-1", False)]
