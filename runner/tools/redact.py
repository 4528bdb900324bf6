"""A last line of defence: secret values from the runner's environment never reach the model.

The sandbox already runs commands with a cleared environment; this catches what slips through
(a secret echoed into a file, printed by a tool that read it elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_KEY|CREDENTIAL", re.I)
MIN_SECRET_LENGTH = 8
REDACTED = "[redacted]"


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of variables whose names say they hold secrets, longest first."""
    values = {
        value
        for name, value in environ.items()
        if _SECRET_NAME.search(name) and len(value) >= MIN_SECRET_LENGTH
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text
