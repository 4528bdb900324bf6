"""The runner's own tools (`EngineRequest.extra_tools`, e.g. the feature tools) for Claude Code,
as an in-process MCP server of claude-agent-sdk.

Claude Code names an MCP tool `mcp__<server>__<tool>`; the gate allows exactly those names and
nothing else of MCP. Each call runs the same `ToolSpec` handler the OpenAI-compatible engine
calls, through `ToolRegistry.call` (same argument checks, same error texts), on a worker thread
so the blocking GitHub requests never stall the SDK's event loop. A failure reaches the model
as an error result (`is_error`) whose text it can read.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from claude_agent_sdk import McpSdkServerConfig, SdkMcpTool, create_sdk_mcp_server

from runner.tools.registry import ToolRegistry, ToolSpec

SERVER_NAME = "autocoder"
PREFIX = f"mcp__{SERVER_NAME}__"


def mcp_tool_name(name: str) -> str:
    """What Claude Code calls the runner's tool `name`."""
    return f"{PREFIX}{name}"


def runner_tool_name(mcp_name: str) -> str | None:
    """The runner's tool name behind a Claude Code tool name, or None for any other tool."""
    return mcp_name[len(PREFIX) :] if mcp_name.startswith(PREFIX) else None


def sdk_server(specs: Sequence[ToolSpec]) -> McpSdkServerConfig:
    registry = ToolRegistry(specs)

    def make(spec: ToolSpec) -> SdkMcpTool[Any]:
        async def handler(arguments: dict[str, Any]) -> dict[str, Any]:
            text = json.dumps(arguments)
            result = await asyncio.to_thread(registry.call, spec.name, text)
            return {"content": [{"type": "text", "text": result.output}], "is_error": not result.ok}

        return SdkMcpTool(
            name=spec.name,
            description=spec.description,
            input_schema=dict(spec.parameters),
            handler=handler,
        )

    return create_sdk_mcp_server(SERVER_NAME, tools=[make(spec) for spec in specs])
