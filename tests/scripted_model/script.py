"""The model of a script: an ordered list of turns a scripted model server plays back.

A script is plain data (YAML or JSON, or built in Python). `parse_script` turns that data into
frozen dataclasses and says exactly where and why a malformed script is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_FINAL_TEXT = "The scripted model has no more turns; the script is exhausted."

FAULT_STATUSES = frozenset({400, 401, 403, 404, 413, 429, 500, 502, 503, 504, 529})
STOP_REASONS = frozenset({"end_turn", "tool_use", "max_tokens", "stop_sequence"})

_TURN_KEYS = frozenset({"text", "tool_calls", "fault", "stall", "stop_reason"})
_TOOL_KEYS = frozenset({"name", "input", "arguments", "id"})
_FAULT_KEYS = frozenset({"status", "times", "retry_after", "message"})
_STALL_KEYS = frozenset({"seconds", "times"})
_SCRIPT_KEYS = frozenset({"turns", "final_text"})


class ScriptError(ValueError):
    """A script is malformed; the message names the place (e.g. `turns[2].fault.status`)."""


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model makes. `raw_arguments` (OpenAI only) is sent verbatim if set."""

    name: str
    input: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None
    raw_arguments: str | None = None

    def arguments_json(self) -> str:
        """The arguments as the JSON text a model would stream."""
        if self.raw_arguments is not None:
            return self.raw_arguments
        return json.dumps(dict(self.input), ensure_ascii=False)


@dataclass(frozen=True)
class Fault:
    """The next `times` requests for a turn get an HTTP error `status` instead of the turn."""

    status: int
    times: int = 1
    retry_after: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class Stall:
    """The next `times` requests for a turn are held open `seconds`, then answered with a 500."""

    seconds: float
    times: int = 1


@dataclass(frozen=True)
class Turn:
    """One model answer: text, tool calls, or both; optionally preceded by faults or stalls."""

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    fault: Fault | None = None
    stall: Stall | None = None
    stop_reason: str | None = None

    def effective_stop_reason(self) -> str:
        """`stop_reason` if scripted, else `tool_use` when the turn calls tools, else `end_turn`."""
        if self.stop_reason is not None:
            return self.stop_reason
        return "tool_use" if self.tool_calls else "end_turn"


@dataclass(frozen=True)
class Script:
    """Turns served in order; `final_text` answers every request after the last turn."""

    turns: tuple[Turn, ...]
    final_text: str = DEFAULT_FINAL_TEXT


def text_turn(text: str) -> Turn:
    """A turn that only answers with text."""
    return Turn(text=text)


def tool_turn(name: str, tool_input: Mapping[str, Any], *, text: str | None = None) -> Turn:
    """A turn that calls one tool, optionally saying `text` first."""
    return Turn(text=text, tool_calls=(ToolCall(name=name, input=dict(tool_input)),))


def load_script(path: str | Path) -> Script:
    """Read a script from a YAML or JSON file (JSON is YAML, so one parser serves both)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(f"cannot read script {file}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScriptError(f"{file}: not valid YAML/JSON: {exc}") from exc
    try:
        return parse_script(data)
    except ScriptError as exc:
        raise ScriptError(f"{file}: {exc}") from exc


def as_script(source: Script | Sequence[Turn | Mapping[str, Any] | str] | str | Path) -> Script:
    """Accept a Script, a list of turns (dataclasses or mappings) or a path to a script file."""
    if isinstance(source, Script):
        return source
    if isinstance(source, str | Path):
        return load_script(source)
    turns = tuple(
        item if isinstance(item, Turn) else _parse_turn(item, f"turns[{i}]")
        for i, item in enumerate(source)
    )
    return Script(turns=turns)


def parse_script(data: object) -> Script:
    """Validate plain data: either a list of turns or `{turns: [...], final_text: ...}`."""
    if isinstance(data, list):
        data = {"turns": data}
    if not isinstance(data, Mapping):
        raise ScriptError(
            f"a script is a list of turns or a mapping with 'turns', not {_kind(data)}"
        )
    _check_keys(data, _SCRIPT_KEYS, "script")
    turns = data.get("turns")
    if not isinstance(turns, list):
        raise ScriptError(f"script.turns: expected a list of turns, got {_kind(turns)}")
    final_text = data.get("final_text", DEFAULT_FINAL_TEXT)
    if not isinstance(final_text, str):
        raise ScriptError(f"script.final_text: expected a string, got {_kind(final_text)}")
    return Script(
        turns=tuple(_parse_turn(t, f"turns[{i}]") for i, t in enumerate(turns)),
        final_text=final_text,
    )


def _parse_turn(data: object, where: str) -> Turn:
    if isinstance(data, str):
        return Turn(text=data)
    if not isinstance(data, Mapping):
        raise ScriptError(f"{where}: expected a mapping or a string, got {_kind(data)}")
    _check_keys(data, _TURN_KEYS, where)
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        raise ScriptError(f"{where}.text: expected a string, got {_kind(text)}")
    raw_calls = data.get("tool_calls", [])
    if not isinstance(raw_calls, list):
        raise ScriptError(f"{where}.tool_calls: expected a list, got {_kind(raw_calls)}")
    calls = tuple(_parse_tool_call(c, f"{where}.tool_calls[{i}]") for i, c in enumerate(raw_calls))
    if text is None and not calls:
        raise ScriptError(f"{where}: a turn needs 'text', 'tool_calls' or both")
    stop_reason = data.get("stop_reason")
    if stop_reason is not None and stop_reason not in STOP_REASONS:
        raise ScriptError(
            f"{where}.stop_reason: {stop_reason!r} is not one of {sorted(STOP_REASONS)}"
        )
    fault = _parse_fault(data["fault"], f"{where}.fault") if "fault" in data else None
    stall = _parse_stall(data["stall"], f"{where}.stall") if "stall" in data else None
    return Turn(text=text, tool_calls=calls, fault=fault, stall=stall, stop_reason=stop_reason)


def _parse_tool_call(data: object, where: str) -> ToolCall:
    if not isinstance(data, Mapping):
        raise ScriptError(f"{where}: expected a mapping with 'name' and 'input', got {_kind(data)}")
    _check_keys(data, _TOOL_KEYS, where)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ScriptError(f"{where}.name: expected a non-empty string, got {_kind(name)}")
    if "input" in data and "arguments" in data:
        raise ScriptError(f"{where}: give 'input' or 'arguments', not both")
    call_id = data.get("id")
    if call_id is not None and not isinstance(call_id, str):
        raise ScriptError(f"{where}.id: expected a string, got {_kind(call_id)}")
    args = data.get("input", data.get("arguments", {}))
    if isinstance(args, str):
        return ToolCall(name=name, input=_loads_object(args), id=call_id, raw_arguments=args)
    if not isinstance(args, Mapping):
        key = "input" if "input" in data else "arguments"
        raise ScriptError(f"{where}.{key}: expected a mapping or a JSON string, got {_kind(args)}")
    return ToolCall(name=name, input=dict(args), id=call_id)


def _parse_fault(data: object, where: str) -> Fault:
    if isinstance(data, int) and not isinstance(data, bool):
        data = {"status": data}
    if not isinstance(data, Mapping):
        raise ScriptError(f"{where}: expected a mapping like {{status: 429}}, got {_kind(data)}")
    _check_keys(data, _FAULT_KEYS, where)
    status = data.get("status")
    if status not in FAULT_STATUSES:
        raise ScriptError(f"{where}.status: {status!r} is not one of {sorted(FAULT_STATUSES)}")
    retry_after = data.get("retry_after")
    if retry_after is not None:
        retry_after = _number(retry_after, f"{where}.retry_after")
    message = data.get("message")
    if message is not None and not isinstance(message, str):
        raise ScriptError(f"{where}.message: expected a string, got {_kind(message)}")
    times = _positive_int(data.get("times", 1), f"{where}.times")
    return Fault(status=int(status), times=times, retry_after=retry_after, message=message)


def _parse_stall(data: object, where: str) -> Stall:
    if isinstance(data, int | float) and not isinstance(data, bool):
        data = {"seconds": data}
    if not isinstance(data, Mapping):
        raise ScriptError(
            f"{where}: expected seconds or {{seconds: S, times: N}}, got {_kind(data)}"
        )
    _check_keys(data, _STALL_KEYS, where)
    if "seconds" not in data:
        raise ScriptError(f"{where}.seconds: missing")
    seconds = _number(data["seconds"], f"{where}.seconds")
    return Stall(seconds=seconds, times=_positive_int(data.get("times", 1), f"{where}.times"))


def _loads_object(text: str) -> dict[str, Any]:
    """Parse tool arguments given as JSON text; text that is not a JSON object gives `{}`."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _check_keys(data: Mapping[Any, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise ScriptError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ScriptError(f"{where}: expected a number >= 0, got {value!r}")
    return float(value)


def _positive_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ScriptError(f"{where}: expected an integer >= 1, got {value!r}")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"[:80]
