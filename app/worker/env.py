"""The environment a session gets: the settings it needs, by name, and nothing it does not
(the webhook secret stays with the server).

It is built from the server's whole configuration (`ServeConfig.environ`: the process
environment over `.env`), so a setting in `.env` reaches the session whatever the executor: the
local executor passes it in the child's environment, the docker executor as `--env NAME`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # app.config imports this package's settings
    from app.config import ServeConfig

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


def session_env(config: ServeConfig) -> dict[str, str]:
    """What the session needs from the server's configuration. The App's private key is
    passed as its PEM text (a container cannot read the server's key file)."""
    env = {
        name: value
        for name, value in config.environ.items()
        if (name.startswith(FORWARDED_PREFIXES) or name in FORWARDED_NAMES) and name not in WITHHELD
    }
    app = config.app
    if app.github_app_id is not None:
        env["AUTOCODER_GITHUB_APP_ID"] = str(app.github_app_id)
    pem = app.private_key_pem()
    if pem:
        env["AUTOCODER_GITHUB_PRIVATE_KEY"] = pem
    env["AUTOCODER_GITHUB_API_URL"] = app.github_api_url
    env["AUTOCODER_ENGINE"] = app.engine
    if app.model is not None:
        env["AUTOCODER_MODEL"] = app.model
    return env


def without_withheld(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if name not in WITHHELD}
