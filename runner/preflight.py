"""Preflight: is the engine configured well enough to run a session?

Checked before anything is written to GitHub (`autocoder run`, `autocoder action`) and by the
server at start-up and before each job, so a missing model key is said once, plainly, to the
operator — not discovered mid-session as a public "failed" comment.

`credential_problem` is pure (settings and environment in, a message or None out);
`endpoint_problem` asks an OpenAI-compatible endpoint for its models (`GET {base}/models`) with
a short timeout — cheap, and it tells a dead or mistyped URL from a working one.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from runner.bootstrap import OLLAMA_BASE_URL, SetupError
from runner.settings import RunnerSettings

CLAUDE_CREDENTIAL_NAMES = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN")
PROBE_TIMEOUT_S = 5.0


def credential_problem(settings: RunnerSettings, environ: Mapping[str, str]) -> str | None:
    """What is missing for the configured engine to authenticate, or None."""
    if settings.engine == "claude":
        present = (
            settings.anthropic_api_key is not None
            and bool(settings.anthropic_api_key.get_secret_value())
        ) or (
            settings.claude_code_oauth_token is not None
            and bool(settings.claude_code_oauth_token.get_secret_value())
        )
        present = present or any(environ.get(name) for name in CLAUDE_CREDENTIAL_NAMES)
        if not present:
            return (
                "no model credentials for the Claude engine: set ANTHROPIC_API_KEY (or "
                "CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_AUTH_TOKEN); for another model, set "
                "AUTOCODER_ENGINE=openai with AUTOCODER_BASE_URL (and AUTOCODER_API_KEY)"
            )
        return None
    return None


def openai_base_url(settings: RunnerSettings) -> str:
    return settings.base_url or OLLAMA_BASE_URL


def endpoint_problem(
    settings: RunnerSettings,
    *,
    timeout_s: float = PROBE_TIMEOUT_S,
    transport: httpx.BaseTransport | None = None,
) -> str | None:
    """For the openai engine: whether `GET {base}/models` answers (any answer but a refused
    key counts: some servers do not list models). None for the Claude engine."""
    if settings.engine != "openai":
        return None
    base = openai_base_url(settings)
    where = "AUTOCODER_BASE_URL" if settings.base_url else f"the default {OLLAMA_BASE_URL}"
    headers = {}
    if settings.api_key is not None and settings.api_key.get_secret_value():
        headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
    try:
        with httpx.Client(timeout=timeout_s, transport=transport) as client:
            response = client.get(f"{base}/models", headers=headers)
    except httpx.HTTPError as error:
        return (
            f"the model endpoint {base} ({where}) does not answer ({type(error).__name__}): "
            "set AUTOCODER_BASE_URL to your OpenAI-compatible endpoint (e.g. "
            "https://api.openai.com/v1) and AUTOCODER_API_KEY, or start the server there"
        )
    if response.status_code in (401, 403):
        return (
            f"the model endpoint {base} refused the key (HTTP {response.status_code}): "
            "set AUTOCODER_API_KEY (or OPENAI_API_KEY) to a key it accepts"
        )
    return None


def engine_problem(
    settings: RunnerSettings,
    environ: Mapping[str, str],
    *,
    probe: bool = True,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> str | None:
    """The first reason the engine cannot run, or None when it looks ready."""
    problem = credential_problem(settings, environ)
    if problem is None and probe:
        problem = endpoint_problem(settings, timeout_s=timeout_s)
    return problem


def preflight(settings: RunnerSettings, environ: Mapping[str, str], *, probe: bool = True) -> None:
    """Raise `SetupError` (saying what to set) when the engine cannot run."""
    problem = engine_problem(settings, environ, probe=probe)
    if problem is not None:
        raise SetupError(problem)
