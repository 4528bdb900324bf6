"""The environment a session gets: the settings it needs, by name, and nothing it does not
(the webhook secret stays with the server)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

FORWARDED_PREFIXES = ("AUTOCODER_", "ANTHROPIC_", "CLAUDE_CODE_")
FORWARDED_NAMES = (
    "OPENAI_API_KEY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
)
WITHHELD = frozenset({"AUTOCODER_WEBHOOK_SECRET", "AUTOCODER_GITHUB_PRIVATE_KEY_PATH"})


def session_env(settings: Any, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the session needs from the server's environment and settings. The App's private
    key is passed as its PEM text (a container cannot read the server's key file)."""
    environ = os.environ if environ is None else environ
    env = {
        name: value
        for name, value in environ.items()
        if (name.startswith(FORWARDED_PREFIXES) or name in FORWARDED_NAMES) and name not in WITHHELD
    }
    app_id = getattr(settings, "github_app_id", None)
    if app_id is not None:
        env["AUTOCODER_GITHUB_APP_ID"] = str(app_id)
    private_key = getattr(settings, "private_key_pem", None)
    pem = private_key() if callable(private_key) else None
    if pem:
        env["AUTOCODER_GITHUB_PRIVATE_KEY"] = pem
    for field, name in (
        ("github_api_url", "AUTOCODER_GITHUB_API_URL"),
        ("engine", "AUTOCODER_ENGINE"),
        ("model", "AUTOCODER_MODEL"),
    ):
        value = getattr(settings, field, None)
        if value is not None:
            env[name] = str(value)
    return env


def without_withheld(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if name not in WITHHELD}
