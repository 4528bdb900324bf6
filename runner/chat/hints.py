"""What to tell the person when the model cannot be used: what was tried, what to change."""

from __future__ import annotations

import re

from runner.chat.config import DEFAULT_BASE_URL, LLMConfig

POINT_ELSEWHERE = (
    "To use another endpoint: autocoder chat --base-url URL --model NAME, or set "
    "AUTOCODER_BASE_URL and AUTOCODER_MODEL, or put llm.base_url and llm.model in "
    "~/.autocoder.yaml or ./.autocoder.yaml."
)


def explain_failure(message: str, config: LLMConfig, auth_mode: str = "") -> str:
    """`message` (an `EngineError`'s) with what was tried and how to fix it."""
    lowered = message.lower()
    tried = f"{config.base_url} (from {config.source_of('base_url')})"
    if "could not connect" in lowered and ("tls failed" in lowered or "certificate" in lowered):
        bundle = config.ca_bundle or "certifi's default bundle"
        return (
            f"the certificate of {tried} was not accepted: {_tls_detail(message)}\n"
            f"Certificates were checked against {bundle}. If the server uses a private CA, "
            "set llm.ca_bundle in .autocoder.yaml or AUTOCODER_CA_BUNDLE to its PEM file."
        )
    if "could not connect" in lowered:
        why = message.split(" — ", 1)[0].split(": ", 1)[-1]  # the client's own hint is generic
        lines = [f"could not reach the model at {tried}: {why}"]
        if config.base_url == DEFAULT_BASE_URL:
            lines.append(
                "That is Ollama's default address: is Ollama running "
                f"(`ollama serve`, then `ollama pull {config.model}`)?"
            )
        lines.append(POINT_ELSEWHERE)
        return "\n".join(lines)
    if lowered.startswith(("401 ", "403 ")):
        return (
            f"{message}\nThe endpoint {tried} refused the credentials "
            f"(authentication: {auth_mode or 'none'}). Set --api-key, AUTOCODER_API_KEY or "
            "llm.api_key, or USE_SSO / SERVER_SIDE_TOKEN_REFRESH with an authentication provider."
        )
    if "not found at" in lowered:
        return f"{message}\nThe model name came from {config.source_of('model')}."
    return message


def _tls_detail(message: str) -> str:
    """The TLS library's own words, once (httpx's error chain repeats them)."""
    match = re.search(r"TLS failed \((.*)\); set a CA bundle", message)
    detail = match.group(1) if match else message
    return " / ".join(dict.fromkeys(part.strip() for part in detail.split(" / ")))
