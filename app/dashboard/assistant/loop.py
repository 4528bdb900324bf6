"""One turn of the assistant: the person's message → model → tools → model … → the answer.

Read tools (read_file, list_directory, search) run at once on the mirror; a feature tool that
writes becomes a proposal and the model is told it waits for the person. Every message is
stored as it is made, so a turn that fails keeps what it finished."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.dashboard.assistant.proposals import WRITE_TOOLS, describe, waiting_note
from app.dashboard.assistant.reader import ReadError, RepoReader
from app.dashboard.assistant.store import ConversationStore
from runner.chat.provider import ChatProvider

MAX_STEPS = 12
MAX_TOOL_CHARS = 30_000

SYSTEM_PROMPT = """\
You are autocoder's project assistant for the GitHub repository {repository}. You answer \
questions about its code and manage its features (each feature is a GitHub issue). Read the \
code with read_file, list_directory and search (the default branch, read only: you cannot run \
commands or change files). Change features with feature_create, feature_update (also to \
reprioritise), feature_skip and feature_delete: each change is only proposed; the person \
confirms it in the page before it is written to GitHub. Keep answers short."""

_PATH = {"type": "string", "description": "path relative to the repository's root"}
READ_TOOLS: list[dict[str, Any]] = [
    {
        "name": "read_file",
        "description": "A file of the default branch, with line numbers (not part of the file).",
        "parameters": {
            "type": "object",
            "properties": {
                "path": _PATH,
                "start_line": {"type": "integer", "description": "first line (default 1)"},
            },
            "required": ["path"],
        },
    },
    {
        "name": "list_directory",
        "description": "The entries of a directory of the default branch (directories end in /).",
        "parameters": {"type": "object", "properties": {"path": _PATH}},
    },
    {
        "name": "search",
        "description": "Lines of the default branch containing a fixed string, as path:line:text.",
        "parameters": {
            "type": "object",
            "properties": {"pattern": {"type": "string"}, "path": _PATH},
            "required": ["pattern"],
        },
    },
]


@dataclass(frozen=True)
class WriteTool:
    name: str
    description: str
    parameters: Mapping[str, Any]


def tool_schemas(write_tools: Sequence[WriteTool]) -> list[dict[str, Any]]:
    tools = [
        *READ_TOOLS,
        *(
            {"name": t.name, "description": t.description, "parameters": dict(t.parameters)}
            for t in write_tools
        ),
    ]
    return [{"type": "function", "function": tool} for tool in tools]


def run_read_tool(reader: RepoReader, name: str, arguments: Mapping[str, Any]) -> str:
    try:
        if name == "read_file":
            start = arguments.get("start_line", 1)
            return reader.read_file(str(arguments["path"]), int(start) if start else 1)
        if name == "list_directory":
            return reader.list_directory(str(arguments.get("path") or "."))
        if name == "search":
            return reader.search(str(arguments["pattern"]), str(arguments.get("path") or "."))
    except (KeyError, TypeError, ValueError) as error:
        message = str(error) if isinstance(error, ReadError) else f"bad arguments: {error}"
        return f"error: {message}"
    return f"error: no tool named {name!r}"


async def take_turn(
    text: str,
    *,
    repository: str,
    store: ConversationStore,
    provider: ChatProvider,
    reader: Callable[[], RepoReader],
    write_tools: Sequence[WriteTool],
    correlation_id: str,
) -> None:
    """Answer `text`; the messages and proposals land in `store`."""
    store.append({"role": "user", "content": text})
    tools = tool_schemas(write_tools)
    writes = {tool.name for tool in write_tools}
    system = {"role": "system", "content": SYSTEM_PROMPT.format(repository=repository)}
    opened: RepoReader | None = None
    for _ in range(MAX_STEPS):
        answer = await provider.complete(
            [system, *store.history()], tools=tools, correlation_id=correlation_id
        )
        store.append(answer.assistant_message())
        if not answer.tool_calls:
            return
        for call in answer.tool_calls:
            try:
                arguments = json.loads(call.arguments or "{}")
            except json.JSONDecodeError:
                arguments = None
            if not isinstance(arguments, dict):
                result = "error: the arguments are not a JSON object"
            elif call.name in writes and call.name in WRITE_TOOLS:
                summary = describe(call.name, arguments)
                result = waiting_note(store.propose(call.name, arguments, summary), summary)
            else:
                opened = opened or reader()
                result = run_read_tool(opened, call.name, arguments)
            store.append(
                {"role": "tool", "tool_call_id": call.id, "content": result[:MAX_TOOL_CHARS]}
            )
    store.append({"role": "assistant", "content": "(stopped: too many steps in one answer)"})
