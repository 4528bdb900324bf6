"""The runner's policy applied to Claude Code's tool calls: allow, refuse, or rewrite.

`judge_tool_call` is pure: it maps one tool call (name and input, as Claude Code sends them) to a
verdict using `runner.policy`. `ToolGate` adds what the engine needs around it: every allowed
Bash command is rewritten to run in the runner's sandbox (`sandboxed_bash`), and decisions are
remembered by tool-use id, because the same call is seen twice — first by the PreToolUse hook,
then by the `can_use_tool` callback — and must be judged and recorded once.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.engines.claude.sandboxed_bash import wrap_command
from runner.policy import CommandPolicy, judge_command, judge_path

TOOLS: tuple[str, ...] = ("Read", "Write", "Edit", "Glob", "Grep", "Bash")
"""The Claude Code tools a session may use. Nothing else: no web, no sub-agents."""
COMMAND_TOOL = "Bash"  # not offered (and refused) where there is no working sandbox


def offered_tools(*, commands_allowed: bool) -> list[str]:
    """The tools given to the CLI: all of `TOOLS`, less Bash where no command may run."""
    return [tool for tool in TOOLS if commands_allowed or tool != COMMAND_TOOL]


_READ_TOOLS = frozenset({"Read", "Glob", "Grep"})
_WRITE_TOOLS = frozenset({"Write", "Edit"})
_GLOB_CHARS = frozenset("*?[{")
_SUMMARY_KEYS: Mapping[str, tuple[str, ...]] = {
    "Bash": ("command",),
    "Read": ("file_path",),
    "Write": ("file_path",),
    "Edit": ("file_path",),
    "Glob": ("pattern", "path"),
    "Grep": ("pattern", "path"),
}
BASH_TOOL_TIMEOUT_CAP_MS = 600_000  # the most Claude Code's Bash tool accepts


@dataclass(frozen=True)
class ToolVerdict:
    allowed: bool
    reason: str = ""


def summarize_tool_call(name: str, tool_input: Mapping[str, Any]) -> str:
    """One line for progress reports: the call's main argument (path, command, pattern)."""
    parts = [tool_input.get(key) for key in _SUMMARY_KEYS.get(name, ())]
    texts = [part for part in parts if isinstance(part, str) and part]
    if not texts and tool_input:
        texts = [json.dumps(dict(tool_input), ensure_ascii=False)]
    return one_line(" in ".join(texts))


def one_line(text: str, limit: int = 200) -> str:
    lines = text.strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def judge_tool_call(
    name: str, tool_input: Mapping[str, Any], *, worktree: Path, policy: CommandPolicy
) -> ToolVerdict:
    """Whether the runner's policy lets this tool call through, and if not, why (for the model)."""
    if name == "Bash":
        command = tool_input.get("command")
        if not isinstance(command, str) or not command.strip():
            return ToolVerdict(False, "Bash needs a non-empty `command` string.")
        verdict = judge_command(command, policy)
        return ToolVerdict(verdict.allowed, "" if verdict.allowed else verdict.reason)
    if name in _WRITE_TOOLS or name == "Read":
        raw = tool_input.get("file_path")
        if not isinstance(raw, str) or not raw.strip():
            return ToolVerdict(False, f"{name} needs a `file_path` string.")
        return _judge_paths([raw], worktree, for_write=name in _WRITE_TOOLS)
    if name in ("Glob", "Grep"):
        return _judge_paths(_search_paths(name, tool_input, worktree), worktree, for_write=False)
    return ToolVerdict(
        False,
        f"The tool {name!r} is not available in this session; use {', '.join(TOOLS)}.",
    )


def _search_paths(name: str, tool_input: Mapping[str, Any], worktree: Path) -> list[str]:
    """The places a Glob or Grep call reads: its `path`, and for Glob the pattern's fixed part."""
    base = tool_input.get("path")
    base_path = base if isinstance(base, str) and base.strip() else str(worktree)
    paths = [base_path]
    pattern = tool_input.get("pattern")
    if name == "Glob" and isinstance(pattern, str):
        fixed = _fixed_prefix(pattern)
        if fixed:
            paths.append(str(_absolute(base_path, worktree) / fixed))
    return paths


def _fixed_prefix(pattern: str) -> str:
    """The directory part of a glob pattern before its first wildcard ("../x/*.py" → "../x")."""
    parts: list[str] = []
    for part in Path(pattern).parts:
        if any(ch in _GLOB_CHARS for ch in part):
            break
        parts.append(part)
    else:
        parts = parts[:-1]  # no wildcard at all: the last part is a name, not a directory
    return str(Path(*parts)) if parts else ""


def _absolute(raw: str, worktree: Path) -> Path:
    path = Path(raw).expanduser()
    return path if path.is_absolute() else worktree / path


def _judge_paths(raws: list[str], worktree: Path, *, for_write: bool) -> ToolVerdict:
    for raw in raws:
        verdict = judge_path(_absolute(raw, worktree), worktree, for_write=for_write)
        if not verdict.allowed:
            return ToolVerdict(False, verdict.reason)
    return ToolVerdict(True)


@dataclass(frozen=True)
class BashRewriter:
    """Turns an allowed Bash command into the sandboxed command line Claude Code runs instead."""

    python: str
    worktree: Path
    reports_dir: Path
    timeout_s: Callable[[], float]  # asked per command: the guard's remaining time caps it
    network: bool = False
    sandbox: str = "auto"  # a `runner.sandbox.SandboxMode` value, passed on to sandboxed_bash
    hide: tuple[Path, ...] = ()
    _numbers: itertools.count[int] = field(default_factory=itertools.count, repr=False)

    def rewrite(self, command: str, tool_input: Mapping[str, Any]) -> tuple[dict[str, Any], Path]:
        """The Bash tool's new input, and where the command's report will be written.

        Only `command`, `timeout` and `description` are kept: `run_in_background` (and any
        other switch) is dropped, so every command runs in the foreground and is recorded.
        """
        report = self.reports_dir / f"command-{next(self._numbers)}.json"
        timeout_s = max(1.0, self.timeout_s())
        line = wrap_command(
            command,
            python=self.python,
            worktree=self.worktree,
            timeout_s=timeout_s,
            report=report,
            network=self.network,
            sandbox=self.sandbox,
            hide=self.hide,
        )
        # Claude Code's own timeout only as a backstop: the sandbox stops the command first.
        tool_timeout_ms = min(BASH_TOOL_TIMEOUT_CAP_MS, int((timeout_s + 30) * 1000))
        updated: dict[str, Any] = {"command": line, "timeout": tool_timeout_ms}
        description = tool_input.get("description")
        if isinstance(description, str) and description:
            updated["description"] = description
        return updated, report


@dataclass(frozen=True)
class GateDecision:
    tool_use_id: str
    tool_name: str
    allowed: bool
    reason: str = ""  # why it was refused, as the model will read it
    original_input: Mapping[str, Any] = field(default_factory=dict)
    updated_input: dict[str, Any] | None = None  # what Claude Code runs instead (Bash)
    report: Path | None = None  # Bash: where sandboxed_bash writes what became of it

    @property
    def command(self) -> str | None:
        value = self.original_input.get("command") if self.tool_name == "Bash" else None
        return value if isinstance(value, str) else None


class ToolGate:
    """Decides each tool call once; both the hook and `can_use_tool` ask it."""

    def __init__(
        self,
        *,
        worktree: Path,
        policy: CommandPolicy,
        bash: BashRewriter,
        commands_refused: str | None = None,
        extra_tools: frozenset[str] = frozenset(),
    ) -> None:
        """`commands_refused`: why every Bash call is refused (no working sandbox), or None.
        `extra_tools`: Claude Code names (`mcp__autocoder__…`) of the runner's own tools, which
        run in the runner's process on GitHub, not in the worktree: allowed as they are."""
        self._extra_tools = extra_tools
        self._worktree = worktree
        self._policy = policy
        self._bash = bash
        self._commands_refused = commands_refused
        self._decisions: dict[str, GateDecision] = {}
        self._closed_reason: str | None = None

    @property
    def decisions(self) -> dict[str, GateDecision]:
        return dict(self._decisions)

    def close(self, reason: str) -> None:
        """Refuse every further call (the session is stopping), with `reason` for the model."""
        self._closed_reason = reason

    def decide(self, tool_use_id: str, name: str, tool_input: Mapping[str, Any]) -> GateDecision:
        known = self._decisions.get(tool_use_id)
        if (
            known is not None
            and known.tool_name == name
            and (dict(tool_input) in (dict(known.original_input), known.updated_input))
        ):
            return known
        decision = self._judge(tool_use_id, name, tool_input)
        self._decisions[tool_use_id] = decision
        return decision

    def _judge(self, tool_use_id: str, name: str, tool_input: Mapping[str, Any]) -> GateDecision:
        original = dict(tool_input)
        if self._closed_reason is not None:
            return GateDecision(tool_use_id, name, False, self._closed_reason, original)
        if name == "Bash" and self._commands_refused is not None:
            return GateDecision(tool_use_id, name, False, self._commands_refused, original)
        if name in self._extra_tools:
            return GateDecision(tool_use_id, name, True, "", original)
        verdict = judge_tool_call(name, tool_input, worktree=self._worktree, policy=self._policy)
        if not verdict.allowed:
            return GateDecision(tool_use_id, name, False, verdict.reason, original)
        if name != "Bash":
            return GateDecision(tool_use_id, name, True, "", original)
        updated, report = self._bash.rewrite(str(tool_input["command"]), tool_input)
        return GateDecision(tool_use_id, name, True, "", original, updated, report)
