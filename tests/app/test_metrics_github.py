"""Metrics from the one GitHub boundary (issue #11): every REST call the App makes — token
minting included — reaches `autocoder_github_api_requests`, and a session's REST calls reach
`autocoder_session_github_requests`."""

from __future__ import annotations

from app.github_app import AppGitHub
from app.metrics import Metrics
from tests.emulator.client import Emulator


def _sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_every_github_call_of_the_app_is_counted_once(github_emulator: Emulator) -> None:
    app = github_emulator.register_app("autocoder")
    github_emulator.create_repo("octo/metrics", {"README.md": "hi\n"})
    installation_id = github_emulator.install(app.id, "octo/metrics")
    github_emulator.add_user("maria", "write", "octo/metrics")
    metrics = Metrics()
    github = AppGitHub(
        app.id, app.private_key, github_emulator.api_url, request_hook=metrics.github_request_hook
    )
    try:
        github_emulator.clear_requests()
        assert github.permission(installation_id, "octo/metrics", "maria") == "write"
        assert github.permission(installation_id, "octo/metrics", "maria") == "write"  # cached
        assert github.bot_login() == f"{app.slug}[bot]"
    finally:
        github.close()
    sent = github_emulator.requests()
    assert [f"{r.method} {r.path}" for r in sent] == [
        f"POST /app/installations/{installation_id}/access_tokens",
        "GET /repos/octo/metrics/collaborators/maria/permission",
        "GET /app",
    ]
    counted = _sample(metrics, "autocoder_github_api_requests_total", method="GET", status="200")
    counted += _sample(metrics, "autocoder_github_api_requests_total", method="POST", status="201")
    assert counted == len(sent)

    metrics.observe_session(11)
    assert _sample(metrics, "autocoder_session_github_requests_count") == 1
    assert _sample(metrics, "autocoder_session_github_requests_sum") == 11
    assert b"autocoder_session_github_requests_bucket" in metrics.render()
