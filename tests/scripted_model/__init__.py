"""Scripted model servers (Anthropic Messages, OpenAI chat completions) for offline tests."""

from .claude_env import claude_cli_env
from .recorder import RecordedRequest, RequestRecorder
from .script import (
    Fault,
    Script,
    ScriptError,
    Stall,
    ToolCall,
    Turn,
    as_script,
    load_script,
    parse_script,
    text_turn,
    tool_turn,
)
from .server import ModelServer, build_app, running_model_server

__all__ = [
    "Fault",
    "ModelServer",
    "RecordedRequest",
    "RequestRecorder",
    "Script",
    "ScriptError",
    "Stall",
    "ToolCall",
    "Turn",
    "as_script",
    "build_app",
    "claude_cli_env",
    "load_script",
    "parse_script",
    "running_model_server",
    "text_turn",
    "tool_turn",
]
