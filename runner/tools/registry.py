"""Tools as definitions the model can call: name, description, JSON-schema parameters, handler.

`ToolRegistry.call` never raises for the model's mistakes (an unknown tool, arguments that are
not JSON, missing or mistyped arguments): it returns a `ToolResult` with `ok=False` whose text
says how to call the tool correctly, so the model can try again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.tools.result import ToolError, ToolResult
from runner.tools.toolbox import Toolbox

ToolHandler = Callable[..., ToolResult | str | Mapping[str, Any]]
"""Called with the arguments as keyword arguments. A str or a mapping counts as a success."""

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: Mapping[str, Any]  # a JSON schema of type "object"
    handler: ToolHandler
    summary_argument: str | None = None  # the argument shown in one-line progress reports

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }

    def summarize(self, arguments: Mapping[str, Any]) -> str:
        """One line naming the call's main argument: the path, the command..."""
        key = self.summary_argument
        value = arguments.get(key) if key else None
        if value is None:
            value = next(iter(arguments.values()), "") if arguments else ""
        text = value if isinstance(value, str) else json.dumps(value)
        line = text.splitlines()[0] if text else ""
        return line[:200]


class ToolRegistry:
    def __init__(self, tools: Iterable[ToolSpec] = ()) -> None:
        self._tools: dict[str, ToolSpec] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: ToolSpec, *, replace: bool = False) -> None:
        if tool.name in self._tools and not replace:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def get(self, name: str) -> ToolSpec | None:
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def openai_schema(self) -> list[dict[str, Any]]:
        """The `tools` parameter of a chat-completions request."""
        return [tool.openai_schema() for tool in self._tools.values()]

    def parse_arguments(self, name: str, arguments_json: str) -> dict[str, Any] | ToolResult:
        """The arguments as a dict, or a `ToolResult` explaining what is wrong with them."""
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(self._tools) or "none"
            return ToolResult(False, f"unknown tool {name!r}; the tools are: {known}")
        text = (arguments_json or "").strip() or "{}"
        try:
            arguments = json.loads(text)
        except json.JSONDecodeError as exc:
            return ToolResult(
                False,
                f"the arguments for {name} are not valid JSON ({exc.msg} at character {exc.pos}); "
                f"send one JSON object, {_example(tool)}",
            )
        if not isinstance(arguments, dict):
            return ToolResult(
                False,
                f"the arguments for {name} must be a JSON object, {_example(tool)}",
            )
        problem = _check_arguments(tool, arguments)
        if problem:
            return ToolResult(False, f"{problem}; call {name} with {_example(tool)}")
        return arguments

    def call(self, name: str, arguments_json: str) -> ToolResult:
        parsed = self.parse_arguments(name, arguments_json)
        if isinstance(parsed, ToolResult):
            return parsed
        tool = self._tools[name]
        try:
            outcome = tool.handler(**parsed)
        except ToolError as exc:
            return ToolResult(False, str(exc))
        except OSError as exc:
            return ToolResult(False, f"{name} failed: {exc.strerror or exc}")
        if isinstance(outcome, ToolResult):
            return outcome
        if isinstance(outcome, str):
            return ToolResult(True, outcome)
        return ToolResult(True, json.dumps(dict(outcome), default=str))


def _check_arguments(tool: ToolSpec, arguments: Mapping[str, Any]) -> str:
    properties: Mapping[str, Any] = tool.parameters.get("properties", {})
    missing = [key for key in tool.parameters.get("required", ()) if key not in arguments]
    if missing:
        return "missing argument" + ("s " if len(missing) > 1 else " ") + ", ".join(missing)
    if tool.parameters.get("additionalProperties", True) is False:
        unknown = [key for key in arguments if key not in properties]
        if unknown:
            return "unknown argument" + ("s " if len(unknown) > 1 else " ") + ", ".join(unknown)
    for key, value in arguments.items():
        declared = properties.get(key, {}).get("type")
        if declared is None:
            continue
        names = [declared] if isinstance(declared, str) else list(declared)
        accepted = tuple(t for n in names for t in _JSON_TYPES.get(n, ()))
        wrong_bool = isinstance(value, bool) and "boolean" not in names
        if accepted and (not isinstance(value, accepted) or wrong_bool):
            return f"argument {key} must be of type {' or '.join(names)}"
    return ""


def _example(tool: ToolSpec) -> str:
    properties: Mapping[str, Any] = tool.parameters.get("properties", {})
    required = tool.parameters.get("required", ())
    placeholders = {
        key: f"<{properties[key].get('type', 'value')}>" if key in properties else "<value>"
        for key in required
    }
    return "for example " + json.dumps(placeholders)


_STR = {"type": "string"}
COMMAND_TOOL = "run_command"


def default_tools(toolbox: Toolbox) -> ToolRegistry:
    """read_file, write_file, edit_file, list_directory and run_command on `toolbox`; without
    a working sandbox (`toolbox.commands_allowed` false), run_command is not offered."""
    registry = ToolRegistry(
        [
            ToolSpec(
                name="read_file",
                description=(
                    "Read a text file of the repository. Lines come numbered ('   12<TAB>text'); "
                    "the numbers are not part of the file. Long files are shown in parts: "
                    "use offset (first line, 1-based) and limit (number of lines)."
                ),
                parameters={
                    "type": "object",
                    "properties": {
                        "path": {**_STR, "description": "path relative to the repository root"},
                        "offset": {
                            "type": "integer",
                            "description": "first line to show (1-based)",
                        },
                        "limit": {"type": "integer", "description": "how many lines to show"},
                    },
                    "required": ["path"],
                    "additionalProperties": False,
                },
                handler=toolbox.read_file,
                summary_argument="path",
            ),
            ToolSpec(
                name="write_file",
                description=(
                    "Create a file, or overwrite it with new content. Parent directories are "
                    "created. Prefer edit_file for changing part of an existing file."
                ),
                parameters={
                    "type": "object",
                    "properties": {
                        "path": {**_STR, "description": "path relative to the repository root"},
                        "content": {**_STR, "description": "the whole new content of the file"},
                    },
                    "required": ["path", "content"],
                    "additionalProperties": False,
                },
                handler=toolbox.write_file,
                summary_argument="path",
            ),
            ToolSpec(
                name="edit_file",
                description=(
                    "Replace one exact piece of text in a file. old_text must occur exactly once "
                    "in the file, whitespace included; add surrounding lines to make it unique."
                ),
                parameters={
                    "type": "object",
                    "properties": {
                        "path": {**_STR, "description": "path relative to the repository root"},
                        "old_text": {**_STR, "description": "the exact text to replace"},
                        "new_text": {**_STR, "description": "the text to put in its place"},
                    },
                    "required": ["path", "old_text", "new_text"],
                    "additionalProperties": False,
                },
                handler=toolbox.edit_file,
                summary_argument="path",
            ),
            ToolSpec(
                name="list_directory",
                description="List a directory of the repository; directories end with '/'.",
                parameters={
                    "type": "object",
                    "properties": {
                        "path": {
                            **_STR,
                            "description": "directory relative to the repository root (default .)",
                        },
                    },
                    "additionalProperties": False,
                },
                handler=toolbox.list_directory,
                summary_argument="path",
            ),
            ToolSpec(
                name=COMMAND_TOOL,
                description=(
                    "Run a shell command in the repository root (tests, linters, git status...). "
                    "Commands outside the allowlist are refused with the reason; there is no "
                    "network access. The exit code and the output come back."
                ),
                parameters={
                    "type": "object",
                    "properties": {
                        "command": {**_STR, "description": "the shell command line to run"},
                    },
                    "required": ["command"],
                    "additionalProperties": False,
                },
                handler=toolbox.run_command,
                summary_argument="command",
            ),
        ]
    )
    if not toolbox.commands_allowed:
        return ToolRegistry(
            spec for name in registry.names if name != COMMAND_TOOL and (spec := registry.get(name))
        )
    return registry
