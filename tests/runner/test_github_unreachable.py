"""GitHub that cannot be reached (nothing listening, a host name that does not resolve) fails at
once with one message naming the URL, not after half a minute of urllib3 retry warnings
(issue #10)."""

from __future__ import annotations

import logging
import time

import pytest

from runner.github.auth import GitHubCredentials
from runner.github.client import GitHubClient
from runner.github.errors import GitHubError
from tests.action.actions_run import closed_port


@pytest.mark.parametrize(
    ("api_url", "says"),
    [
        pytest.param(f"http://127.0.0.1:{closed_port()}/api/v3", "refused", id="refused"),
        pytest.param("http://github.invalid/api/v3", "does not resolve", id="unknown-host"),
    ],
)
def test_unreachable_github_fails_fast_with_one_clear_message(
    api_url: str, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    credentials = GitHubCredentials.from_token("ghp_not-a-real-token", base_url=api_url)
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with GitHubClient(credentials) as github, pytest.raises(GitHubError) as failure:
        github.get_issue("octo/hello", 5)
    assert time.monotonic() - started < 5
    message = str(failure.value)
    assert "could not talk to GitHub" in message
    assert api_url.removesuffix("/api/v3") in message
    assert says in message
    assert "HTTPConnectionPool" not in message and "Max retries" not in message
    assert "ghp_not-a-real-token" not in message
    retries = [r for r in caplog.records if r.name.startswith("urllib3") and "Retrying" in r.msg]
    assert retries == []
