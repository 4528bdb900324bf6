"""The file and command tools, confined to one worktree.

Every path goes through `runner.policy.judge_path` and every command through
`runner.policy.judge_command` before the sandbox runs it. Failures come back as a `ToolResult`
with `ok=False` and a message the model can act on; they are not raised.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from runner.policy import CommandPolicy, judge_command, judge_path
from runner.sandbox import Sandbox, SandboxMode, SandboxUnavailable
from runner.task import CommandRecord
from runner.tools.redact import redact, secret_values
from runner.tools.result import ToolError, ToolResult
from runner.tools.text import (
    count_changed_lines,
    looks_binary,
    number_lines,
    replace_exact,
    unified_diff,
)

log = logging.getLogger(__name__)

ConfirmCommand = Callable[[str, str], bool]
"""Asked `(command, reason)` when the allowlist refuses a command; True runs it anyway."""

DEFAULT_READ_LINES = 2_000
MAX_READ_CHARS = 100_000
MAX_FILE_BYTES = 20_000_000
MAX_LIST_ENTRIES = 1_000
SKIPPED_ENTRIES = frozenset({".git"})


class Toolbox:
    def __init__(
        self,
        worktree: Path,
        policy: CommandPolicy,
        sandbox: Sandbox,
        *,
        confirm: ConfirmCommand | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.worktree = worktree.resolve()
        self.policy = policy
        self.sandbox = sandbox
        self.confirm = confirm
        # Values never shown to the model, whatever a command or a file prints.
        self._secrets = secret_values(os.environ if environ is None else environ)

    @classmethod
    def for_worktree(
        cls,
        worktree: Path,
        *,
        extra_commands: tuple[str, ...] = (),
        network: bool = False,
        timeout_s: float = 120,
        confirm: ConfirmCommand | None = None,
        sandbox_mode: SandboxMode | str = SandboxMode.AUTO,
    ) -> Toolbox:
        """The default policy and sandbox for `worktree`."""
        return cls(
            worktree,
            CommandPolicy.default(worktree, extra_commands=extra_commands),
            Sandbox(worktree, network=network, timeout_s=timeout_s, mode=sandbox_mode),
            confirm=confirm,
        )

    @property
    def commands_allowed(self) -> bool:
        """Whether commands can run here at all (a working sandbox, or the operator's opt-out);
        when not, the command tool is not offered and every command is refused."""
        return self.sandbox.commands_allowed

    # -- files ---------------------------------------------------------------------------------

    def read_file(
        self, path: str, offset: int | None = None, limit: int | None = None
    ) -> ToolResult:
        """The file's lines, numbered; `offset` is the first line to show (1-based)."""
        try:
            target = self._resolve(path, for_write=False)
            shown = self._display(target)
            data = self._read_bytes(target, shown)
        except ToolError as exc:
            return ToolResult(False, str(exc))
        if looks_binary(data):
            return ToolResult(
                False, f"{shown} looks like a binary file ({len(data)} bytes); not shown"
            )
        if not data:
            return ToolResult(True, f"({shown} is empty)")
        lines = redact(data.decode("utf-8", errors="replace"), self._secrets).splitlines()
        first = max(offset or 1, 1)
        count = DEFAULT_READ_LINES if limit is None or limit <= 0 else limit
        if first > len(lines):
            return ToolResult(
                False, f"{shown} has {len(lines)} lines; offset {first} is past the end"
            )
        chosen = lines[first - 1 : first - 1 + count]
        text = number_lines(chosen, first_number=first)
        last = first + len(chosen) - 1
        if len(text) > MAX_READ_CHARS:
            text = text[:MAX_READ_CHARS].rsplit("\n", 1)[0]
            last = first + text.count("\n")
        if first > 1 or last < len(lines):
            text += (
                f"\n[lines {first}-{last} of {len(lines)} in {shown}; "
                f"call read_file with offset={last + 1} to read on]"
                if last < len(lines)
                else f"\n[lines {first}-{last} of {len(lines)} in {shown}]"
            )
        return ToolResult(True, text)

    def write_file(self, path: str, content: str) -> ToolResult:
        """Create or overwrite a file (parent directories too); the diff says what changed."""
        try:
            target = self._resolve(path, for_write=True)
            shown = self._display(target)
            if target.is_dir():
                raise ToolError(f"{shown} is a directory; give a file path")
            existed = target.exists()
            old = self._read_text(target, shown) if existed else ""
            target.parent.mkdir(parents=True, exist_ok=True)
            self._write_text(target, content, shown)
        except ToolError as exc:
            return ToolResult(False, str(exc))
        diff = unified_diff(old, content, shown)
        if not existed:
            lines = len(content.splitlines())
            return ToolResult(True, f"created {shown} ({lines} lines)", diff=diff)
        if not diff:
            return ToolResult(True, f"{shown} unchanged (same content)", diff="")
        added, removed = count_changed_lines(diff)
        return ToolResult(True, f"updated {shown} (+{added} -{removed} lines)", diff=diff)

    def edit_file(self, path: str, old_text: str, new_text: str) -> ToolResult:
        """Replace the one exact occurrence of `old_text` with `new_text`."""
        try:
            target = self._resolve(path, for_write=True)
            shown = self._display(target)
            if not old_text:
                raise ToolError("old_text is empty; to create or overwrite a file use write_file")
            if not target.is_file():
                raise ToolError(
                    f"{shown} does not exist; create it with write_file"
                    if not target.exists()
                    else f"{shown} is not a regular file"
                )
            content = self._read_text(target, shown)
            if "\r\n" in content and "\r\n" not in old_text and old_text not in content:
                old_text = old_text.replace("\n", "\r\n")
                new_text = new_text.replace("\n", "\r\n")
            replacement = replace_exact(content, old_text, new_text)
            if replacement.new_content is None:
                raise ToolError(
                    self._explain_no_edit(shown, replacement.occurrences, replacement.hint)
                )
            self._write_text(target, replacement.new_content, shown)
        except ToolError as exc:
            return ToolResult(False, str(exc))
        diff = unified_diff(content, replacement.new_content, shown)
        added, removed = count_changed_lines(diff)
        return ToolResult(True, f"edited {shown} (+{added} -{removed} lines)\n{diff}", diff=diff)

    def list_directory(self, path: str = ".") -> ToolResult:
        """Entries of a directory, sorted; directories end with `/`; `.git` is left out."""
        try:
            target = self._resolve(path or ".", for_write=False)
            shown = self._display(target)
            if not target.exists():
                raise ToolError(f"{shown} does not exist")
            if not target.is_dir():
                raise ToolError(f"{shown} is a file, not a directory; use read_file")
            entries = sorted(
                (entry for entry in os.scandir(target) if entry.name not in SKIPPED_ENTRIES),
                key=lambda entry: entry.name,
            )
        except ToolError as exc:
            return ToolResult(False, str(exc))
        except OSError as exc:
            return ToolResult(False, f"cannot list {path}: {exc.strerror or exc}")
        names = [entry.name + ("/" if entry.is_dir() else "") for entry in entries]
        if not names:
            return ToolResult(True, f"({shown} is empty)")
        if len(names) > MAX_LIST_ENTRIES:
            more = len(names) - MAX_LIST_ENTRIES
            names = [*names[:MAX_LIST_ENTRIES], f"[... {more} more entries]"]
        return ToolResult(True, "\n".join(names))

    # -- commands ------------------------------------------------------------------------------

    def run_command(self, command: str) -> ToolResult:
        """Run a shell command in the sandbox, if the policy (or the person asked) allows it."""
        if not self.sandbox.commands_allowed:  # fail closed: no sandbox, no command
            reason = self.sandbox.status.refusal()
            record = CommandRecord(command=command, exit_code=None, refused_reason=reason)
            return ToolResult(False, f"command refused: {reason}", command=record)
        verdict = judge_command(command, self.policy)
        if not verdict.allowed:
            reason = verdict.reason or "not allowed"
            if self.confirm is None or not self.confirm(command, reason):
                record = CommandRecord(command=command, exit_code=None, refused_reason=reason)
                return ToolResult(False, f"command refused: {reason}", command=record)
            log.info("command allowed by confirmation: %s", command)
        try:
            result = self.sandbox.run(command)
        except SandboxUnavailable as error:
            record = CommandRecord(command=command, exit_code=None, refused_reason=str(error))
            return ToolResult(False, f"command refused: {error}", command=record)
        record = CommandRecord(
            command=command, exit_code=result.exit_code, timed_out=result.timed_out
        )
        if result.timed_out:
            head = f"timed out after {result.duration_s:.0f} s and was stopped"
        else:
            head = f"exit code {result.exit_code}"
        shown = redact(result.output, self._secrets) if result.output else "(no output)"
        output = f"{head}\n{shown}"
        return ToolResult(result.exit_code == 0 and not result.timed_out, output, command=record)

    # -- helpers -------------------------------------------------------------------------------

    def _resolve(self, path: str, *, for_write: bool) -> Path:
        if not isinstance(path, str) or not path.strip():
            raise ToolError("path is empty; give a path relative to the repository root")
        verdict = judge_path(path, self.worktree, for_write=for_write)
        if not verdict.allowed:
            raise ToolError(f"path refused: {verdict.reason}")
        candidate = Path(path)
        full = (candidate if candidate.is_absolute() else self.worktree / candidate).resolve()
        if full != self.worktree and not full.is_relative_to(self.worktree):
            # judge_path already refuses this; a second look costs nothing.
            raise ToolError(f"path refused: {path} is outside the repository")
        return full

    def _display(self, target: Path) -> str:
        relative = target.relative_to(self.worktree).as_posix()
        return relative or "."

    @staticmethod
    def _read_bytes(target: Path, shown: str) -> bytes:
        if not target.exists():
            raise ToolError(f"{shown} does not exist")
        if target.is_dir():
            raise ToolError(f"{shown} is a directory; use list_directory")
        try:
            size = target.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ToolError(
                    f"{shown} is too large to read ({size} bytes); "
                    "look at parts of it with run_command (head, grep)"
                )
            return target.read_bytes()
        except OSError as exc:
            raise ToolError(f"cannot read {shown}: {exc.strerror or exc}") from exc

    @classmethod
    def _read_text(cls, target: Path, shown: str) -> str:
        data = cls._read_bytes(target, shown)
        if looks_binary(data):
            raise ToolError(f"{shown} is a binary file; it cannot be edited as text")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ToolError(f"{shown} is not UTF-8 text; it cannot be edited as text") from exc

    @staticmethod
    def _write_text(target: Path, content: str, shown: str) -> None:
        try:
            with target.open("w", encoding="utf-8", newline="") as handle:
                handle.write(content)
        except OSError as exc:
            raise ToolError(f"cannot write {shown}: {exc.strerror or exc}") from exc

    @staticmethod
    def _explain_no_edit(shown: str, occurrences: int, hint: str) -> str:
        if occurrences > 1:
            return (
                f"old_text occurs {occurrences} times in {shown}; nothing was changed. "
                "Include more surrounding lines so that it matches exactly once."
            )
        message = (
            f"old_text was not found in {shown}; nothing was changed. "
            "It must match the file exactly, including whitespace and indentation "
            "(without the line numbers read_file shows)."
        )
        if hint:
            message += f"\nThe closest lines in {shown} are:\n{hint}"
        return message
