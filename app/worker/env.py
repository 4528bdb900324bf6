"""The few environment variables a session process gets beyond the basics
(`app.executors.base.clean_env`): those the engine's own CLI reads from its environment.

Everything else — the runner's settings, the model's credentials, the GitHub token — travels in
the work order (`runner.work_order`), validated once by the server. Here only: Claude Code's own
knobs and credentials (`ANTHROPIC_*`, `CLAUDE_CODE_*`, read by the CLI itself), and how to reach
the network (proxies, CA bundles). Never the webhook secret, the App key or the database URL.
"""

from __future__ import annotations

from collections.abc import Mapping

FORWARDED_PREFIXES = ("ANTHROPIC_", "CLAUDE_CODE_")
FORWARDED_NAMES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
)


def engine_env(environ: Mapping[str, str]) -> dict[str, str]:
    """What of the server's configuration (`ServeConfig.environ`: the environment over `.env`)
    the session's environment carries."""
    return {
        name: value
        for name, value in environ.items()
        if name.startswith(FORWARDED_PREFIXES) or name in FORWARDED_NAMES
    }
