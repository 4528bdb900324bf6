"""The environment that points the bundled Claude Code CLI at a scripted Anthropic server."""

from __future__ import annotations

from pathlib import Path


def claude_cli_env(
    base_url: str,
    home: Path,
    *,
    max_retries: int = 1,
    api_key: str = "sk-ant-scripted-test",
    api_timeout_ms: int | None = None,
) -> dict[str, str]:
    """Env for `ClaudeAgentOptions(env=...)`: scripted endpoint, bounded retries, private HOME.

    `home` becomes HOME and holds CLAUDE_CONFIG_DIR, so no settings, credentials or sessions of
    this machine's user are read or written. Nonessential traffic (telemetry, update checks, the
    session-title side request) is switched off.
    """
    env = {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_MAX_RETRIES": str(max_retries),
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
    }
    if api_timeout_ms is not None:
        env["API_TIMEOUT_MS"] = str(api_timeout_ms)
    return env
