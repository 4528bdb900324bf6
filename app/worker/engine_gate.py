"""Whether the server's engine can run a session (`runner.preflight`), remembered for a short
while: `/healthz` asks often, and the openai engine's check is an HTTP request. The workers ask
for a fresh answer before each job, so a model endpoint that comes up later is noticed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

NOT_CONFIGURED_MARKER = "<!-- autocoder:not-configured -->"


class EngineGate:
    def __init__(
        self,
        check: Callable[[], str | None],
        *,
        ttl_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._check = check
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._problem: str | None = None

    def problem(self, *, fresh: bool = False) -> str | None:
        """Why the engine cannot run (what to set), or None when it looks ready."""
        with self._lock:
            now = self._clock()
            stale = self._checked_at is None or now - self._checked_at >= self._ttl_s
            if fresh or stale:
                self._problem = self._check()
                self._checked_at = now
            return self._problem


def not_configured_comment() -> tuple[str, str]:
    """(marker, body) of the one comment an issue gets when the server has no working model.
    The body names what to set but no detail of the server (URLs, errors): the issue may be
    public."""
    body = (
        f"{NOT_CONFIGURED_MARKER}\n"
        "⚠️ **autocoder is not configured with a model**, so it did not start work on this "
        "issue.\n\n"
        "Whoever runs this autocoder server: set the model's credentials — `ANTHROPIC_API_KEY` "
        "(or `CLAUDE_CODE_OAUTH_TOKEN`) for the Claude engine, or `AUTOCODER_ENGINE=openai` with "
        "`AUTOCODER_BASE_URL` (and `AUTOCODER_API_KEY`) for an OpenAI-compatible endpoint — in "
        "the environment or `.env` of `autocoder serve`, and restart it. `GET /healthz` and "
        "the server's log say exactly what is missing.\n\n"
        "Then remove and add the trigger label again to start."
    )
    return NOT_CONFIGURED_MARKER, body
