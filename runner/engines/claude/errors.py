"""Turning what the Claude Code CLI reports about a failed model call into an actionable message.

Tried on the bundled CLI against a scripted server: a failed call ends the run with a synthetic
assistant message (model "<synthetic>", `error` set: "authentication_failed", "rate_limit",
"server_error", "model_not_found"...) whose text is the CLI's own explanation ("API Error:
Connection refused ...", "Failed to authenticate. API Error: 401 ...", "There's an issue with the
selected model ..."), followed by a result with `is_error` set. Retries before that arrive as
`system` messages with subtype "api_retry".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_KEY_HINT = "ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN / ANTHROPIC_AUTH_TOKEN)"


def describe_model_failure(
    *,
    error_kind: str | None,
    detail: str,
    base_url: str | None,
    model: str | None,
    status: int | None = None,
) -> str:
    """One message that says what failed and which setting to check."""
    endpoint = f"ANTHROPIC_BASE_URL={base_url}" if base_url else "the default Anthropic API"
    detail = detail.strip() or "no detail"
    kind = (error_kind or "").lower()
    if kind == "authentication_failed" or status in (401, 403):
        return (
            f"the Claude model endpoint ({endpoint}) refused the credentials: {detail}. "
            f"Check {_KEY_HINT}."
        )
    if kind == "model_not_found" or status == 404:
        return (
            f"the model {model or '(default)'} is not available at {endpoint}: {detail}. "
            "Check the configured model (AUTOCODER_MODEL) and ANTHROPIC_BASE_URL."
        )
    if kind == "billing_error":
        return f"the Claude account behind {_KEY_HINT} cannot be billed: {detail}."
    if kind == "rate_limit" or status == 429:
        return (
            f"the Claude model endpoint ({endpoint}) kept refusing with a rate limit: {detail}. "
            "Try again later or raise the account's limits."
        )
    return (
        f"the Claude model endpoint ({endpoint}) could not be used: {detail}. "
        f"Check that ANTHROPIC_BASE_URL is right and reachable and that {_KEY_HINT} is valid."
    )


def describe_retry(data: Mapping[str, Any]) -> tuple[str, float]:
    """The reason and wait of an "api_retry" system message."""
    attempt = data.get("attempt")
    most = data.get("max_retries")
    error = data.get("error") or "error"
    status = data.get("error_status")
    delay_ms = data.get("retry_delay_ms")
    wait_s = float(delay_ms) / 1000 if isinstance(delay_ms, int | float) else 0.0
    what = f"model API {error}" + (f" (HTTP {status})" if status else "")
    if attempt is not None and most is not None:
        what += f", retry {attempt} of {most}"
    return what, wait_s
