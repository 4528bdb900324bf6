"""Which certificates the model endpoint is checked against: certifi's, or a custom CA bundle."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi

from runner.chat.errors import ConfigError


def ssl_context(ca_bundle: str | None, *, source: str = "llm.ca_bundle") -> ssl.SSLContext:
    """A verifying context: `ca_bundle` (a PEM file or a directory of them), else certifi's CAs."""
    if not ca_bundle:
        return ssl.create_default_context(cafile=certifi.where())
    path = Path(ca_bundle).expanduser()
    try:
        if path.is_dir():
            return ssl.create_default_context(capath=str(path))
        return ssl.create_default_context(cafile=str(path))
    except FileNotFoundError:
        raise ConfigError(f"CA bundle {path} (from {source}) does not exist") from None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"CA bundle {path} (from {source}) is not usable: {exc}; give a PEM file"
        ) from None
