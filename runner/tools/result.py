"""What a tool hands back: text for the model, and records for the reporter."""

from __future__ import annotations

from dataclasses import dataclass

from runner.task import CommandRecord


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    output: str  # what the model is shown
    command: CommandRecord | None = None  # set by run_command, refused or not
    diff: str | None = None  # set by write_file and edit_file

    @property
    def summary(self) -> str:
        """One line for progress reports."""
        first = next((line for line in self.output.splitlines() if line.strip()), "")
        return first[:200]


class ToolError(Exception):
    """A tool could not do what it was asked; the message is shown to the model."""
