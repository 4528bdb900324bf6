"""File and command tools for the model, confined to one worktree.

Shared by the OpenAI-compatible engine and the local `autocoder chat` assistant.
"""

from runner.tools.registry import ToolHandler, ToolRegistry, ToolSpec, default_tools
from runner.tools.result import ToolError, ToolResult
from runner.tools.toolbox import ConfirmCommand, Toolbox

__all__ = [
    "ConfirmCommand",
    "ToolError",
    "ToolHandler",
    "ToolRegistry",
    "ToolResult",
    "ToolSpec",
    "Toolbox",
    "default_tools",
]
