"""Settings: defaults, malformed values named with their fix, and start-up without an App."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.main import create_app
from app.settings import AppSettings
from autocoder.cli import _register, cli
from autocoder.commands.errors import settings_error_message
from tests.app.webhook_harness import make_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("AUTOCODER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults(tmp_path: Path) -> None:
    settings = AppSettings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'home' / '.autocoder/autocoder.db'}"
    assert settings.trigger_label == "autocoder"
    assert settings.github_api_url == "https://api.github.com"
    assert (settings.concurrency, settings.executor, settings.engine) == (1, "local", "claude")
    assert settings.missing() == [
        "AUTOCODER_GITHUB_APP_ID",
        "AUTOCODER_GITHUB_PRIVATE_KEY or AUTOCODER_GITHUB_PRIVATE_KEY_PATH",
        "AUTOCODER_WEBHOOK_SECRET",
    ]


def test_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AUTOCODER_TRIGGER_LABEL=robot\nAUTOCODER_CONCURRENCY=3\n")
    settings = AppSettings()
    assert (settings.trigger_label, settings.concurrency) == ("robot", 3)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("AUTOCODER_CONCURRENCY", "lots", "AUTOCODER_CONCURRENCY"),
        ("AUTOCODER_CONCURRENCY", "0", "AUTOCODER_CONCURRENCY"),
        ("AUTOCODER_EXECUTOR", "nomad", "AUTOCODER_EXECUTOR"),
        ("AUTOCODER_GITHUB_APP_ID", "abc", "AUTOCODER_GITHUB_APP_ID"),
        ("AUTOCODER_GITHUB_API_URL", "api.github.com", "AUTOCODER_GITHUB_API_URL"),
        ("AUTOCODER_GITHUB_PRIVATE_KEY", "not a key", "AUTOCODER_GITHUB_PRIVATE_KEY"),
        ("AUTOCODER_GITHUB_PRIVATE_KEY_PATH", "/nonexistent/key.pem", "no such file"),
        ("AUTOCODER_DATABASE_URL", "not a url", "AUTOCODER_DATABASE_URL"),
        ("AUTOCODER_RECONCILE_INTERVAL", "-1", "AUTOCODER_RECONCILE_INTERVAL"),
    ],
)
def test_malformed_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        AppSettings()
    message = settings_error_message(caught.value)
    assert says in message
    assert "Fix the environment variable" in message


def test_serve_refuses_to_start_with_a_malformed_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOCODER_CONCURRENCY", "many")
    _register()
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code != 0
    assert "AUTOCODER_CONCURRENCY" in result.output
    assert "Fix the environment variable" in result.output


def test_sync_needs_app_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOCODER_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    _register()
    result = CliRunner().invoke(cli, ["sync", "octo/hello"])
    assert result.exit_code != 0
    assert "AUTOCODER_GITHUB_APP_ID" in result.output
    bad = CliRunner().invoke(cli, ["sync", "not-a-repo"])
    assert bad.exit_code != 0 and "OWNER/REPO" in bad.output


def test_healthz_without_credentials(tmp_path: Path) -> None:
    settings = AppSettings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite:///{tmp_path / 'new' / 'dir' / 'a.db'}"
    )
    with TestClient(create_app(settings, run_workers=False)) as client:
        response = client.get("/healthz")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "unconfigured"
        assert body["database"] == "ok"
        assert "AUTOCODER_GITHUB_APP_ID" in body["github_app"]["missing"]
        assert "Register a GitHub App" in body["github_app"]["help"]
        # Deliveries cannot be verified without a secret: said so, nothing stored.
        denied = client.post("/api/github/webhooks", content=b"{}")
        assert denied.status_code == 503
        assert "AUTOCODER_WEBHOOK_SECRET" in denied.json()["error"]
    assert (tmp_path / "new" / "dir" / "a.db").is_file()


def test_default_database_is_created_on_first_start(tmp_path: Path) -> None:
    settings = AppSettings()
    create_app(settings, run_workers=False)
    assert (tmp_path / "home" / ".autocoder" / "autocoder.db").is_file()


def test_private_key_from_a_file(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "app.pem"
    path.write_text(pem)
    settings = make_settings(tmp_path, github_app_id=7, github_private_key_path=path)
    assert settings.private_key_pem() == pem
    assert settings.has_app_credentials
    assert settings.missing() == []
