"""Shows what the assistant does: streamed text, each tool call with its result, diffs."""

from __future__ import annotations

from runner.chat.events import ChatEvent, Notice, TextDelta, ToolFinished, ToolStarted
from runner.chat.io import ChatIO

MAX_DIFF_LINES = 200


class ChatView:
    def __init__(self, io: ChatIO) -> None:
        self.io = io
        self._at_line_start = True

    def emit(self, event: ChatEvent) -> None:
        if isinstance(event, TextDelta):
            self._write(event.text)
        elif isinstance(event, ToolStarted):
            self.end_line()
            self._write(f"-> {event.name}({event.arguments})\n", "tool")
        elif isinstance(event, ToolFinished):
            self.end_line()
            label = "ok" if event.ok else "failed"
            self._write(f"   {label}: {event.summary}\n", label)
            if event.diff:
                self.show_diff(event.diff)
        elif isinstance(event, Notice):
            self.end_line()
            self._write(f"! {event.text}\n", "notice")

    def show_diff(self, diff: str) -> None:
        lines = diff.splitlines()
        shown = lines[:MAX_DIFF_LINES]
        for line in shown:
            if line.startswith(("+++", "---")):
                style = "dim"
            elif line.startswith("+"):
                style = "added"
            elif line.startswith("-"):
                style = "removed"
            elif line.startswith("@@"):
                style = "hunk"
            else:
                style = None
            self._write(line + "\n", style)
        if len(lines) > len(shown):
            self._write(f"[... {len(lines) - len(shown)} more diff lines]\n", "dim")

    def info(self, text: str) -> None:
        self.end_line()
        self._write(text.rstrip("\n") + "\n")

    def notice(self, text: str) -> None:
        self.end_line()
        self._write(text.rstrip("\n") + "\n", "notice")

    def error(self, text: str) -> None:
        self.end_line()
        self._write(f"error: {text.rstrip()}\n", "error")

    def end_line(self) -> None:
        if not self._at_line_start:
            self._write("\n")

    def _write(self, text: str, style: str | None = None) -> None:
        if not text:
            return
        self.io.write(text, style)
        self._at_line_start = text.endswith("\n")
