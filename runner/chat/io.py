"""The assistant's terminal, behind a small interface so the REPL can be driven in tests."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Protocol, TextIO

import click

STYLES: dict[str, tuple[str | None, bool, bool]] = {  # name: (colour, bold, dim)
    "tool": ("cyan", True, False),
    "ok": ("green", False, False),
    "failed": ("red", False, False),
    "added": ("green", False, False),
    "removed": ("red", False, False),
    "hunk": ("cyan", False, False),
    "notice": ("yellow", False, False),
    "error": ("red", True, False),
    "dim": (None, False, True),
}


def styled(text: str, style: str) -> str:
    colour, bold, dim = STYLES.get(style, (None, False, False))
    return click.style(text, fg=colour, bold=bold or None, dim=dim or None)


class ChatIO(Protocol):
    def read_line(self, prompt: str) -> str:
        """One line from the person; EOFError on Ctrl-D, KeyboardInterrupt on Ctrl-C."""
        ...

    def write(self, text: str, style: str | None = None) -> None:
        """Show `text` as is (no newline added), styled when the terminal has colours."""
        ...

    def write_error(self, text: str) -> None: ...


def wants_color(stream: TextIO) -> bool:
    """Colours on a terminal, unless NO_COLOR is set (https://no-color.org) or TERM=dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


class TerminalIO:
    """stdin/stdout, with line editing (readline) and colours when they are a terminal."""

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        *,
        color: bool | None = None,
    ) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.color = wants_color(self.stdout) if color is None else color
        if self.stdin is sys.stdin and self.stdin.isatty():
            with contextlib.suppress(ImportError):  # not on every platform
                import readline  # noqa: F401 - importing it gives input() line editing and history

    def read_line(self, prompt: str) -> str:
        if self.stdin is sys.stdin and self.stdout is sys.stdout:
            return input(prompt)
        self.write(prompt)
        line = self.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def write(self, text: str, style: str | None = None) -> None:
        if style and self.color:
            text = styled(text, style)
        self.stdout.write(text)
        self.stdout.flush()

    def write_error(self, text: str) -> None:
        if self.color:
            text = styled(text, "error")
        self.stderr.write(text)
        self.stderr.flush()
