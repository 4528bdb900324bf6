"""The Claude engine: claude-agent-sdk and its bundled Claude Code CLI, under the runner's policy,
sandbox and limits."""

from runner.engines.claude.engine import ClaudeEngine
from runner.engines.claude.launch import ClaudeCredentials

__all__ = ["ClaudeCredentials", "ClaudeEngine"]
