"""The server's `.env` file, read strictly: a line that is not `NAME=value`, or an `AUTOCODER_*`
name that no setting reads, stops start-up with the file and line (a typo must not be silently
ignored while the server says it is fine).

Values are read the way pydantic-settings reads them (python-dotenv: quotes, `export`,
comments, `${VAR}` expansion); `check_env_text` only adds the checks.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CHECKED_PREFIX = "AUTOCODER_"


@dataclass(frozen=True)
class EnvFileProblem:
    line: int
    message: str


class EnvFileError(Exception):
    """The `.env` file cannot be used; the message names the file, the line and the fix."""

    def __init__(self, path: Path, problems: list[EnvFileProblem]) -> None:
        self.path = path
        self.problems = problems
        lines = [f"{path}:{p.line}: {p.message}" for p in problems]
        super().__init__("\n".join([*lines, f"Fix {path} (or remove the line) and start again."]))


def check_env_text(text: str, known: Iterable[str]) -> list[EnvFileProblem]:
    """Problems in the text of a `.env` file: lines that do not parse, and `AUTOCODER_*` names
    not in `known`."""
    known_names = sorted(set(known))
    problems: list[EnvFileProblem] = []
    for binding in parse_stream(io.StringIO(text)):
        line = _first_line(binding.original.string, binding.original.line)
        if binding.error:
            problems.append(EnvFileProblem(line, "not NAME=value (quote values with spaces)"))
            continue
        if binding.key is None:  # blank or comment
            continue
        if not _NAME.match(binding.key):
            problems.append(EnvFileProblem(line, f"{binding.key!r} is not a variable name"))
            continue
        if binding.value is None:
            problems.append(EnvFileProblem(line, f"{binding.key} has no '=value'"))
            continue
        name = binding.key.upper()
        if name.startswith(CHECKED_PREFIX) and name not in known_names:
            close = difflib.get_close_matches(name, known_names, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(
                EnvFileProblem(
                    line,
                    f"{binding.key} is not an autocoder setting{hint} "
                    "(docs/configuration.md lists them all)",
                )
            )
    return problems


def _first_line(original: str, line: int) -> int:
    """The line a binding's text starts on (python-dotenv counts from the blank lines and
    comments before it)."""
    stripped = original.lstrip()
    return line + original[: len(original) - len(stripped)].count("\n")


def read_env_file(path: Path, known: Iterable[str]) -> dict[str, str]:
    """The variables `path` sets (empty when it does not exist); `EnvFileError` when it has
    problems."""
    if not path.is_file():
        return {}
    path = path.absolute()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise EnvFileError(path, [EnvFileProblem(0, f"cannot read it: {error}")]) from None
    problems = check_env_text(text, known)
    if problems:
        raise EnvFileError(path, problems)
    values = dotenv_values(stream=io.StringIO(text))
    return {name: value for name, value in values.items() if value is not None}
