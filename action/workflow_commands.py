"""GitHub Actions workflow commands and files, as text: pure functions, no I/O.

- `::add-mask::VALUE` hides VALUE in every later log line (one line per call, so a multi-line
  secret such as a PEM key is masked line by line).
- `::error title=T::MESSAGE` is an annotation on the run; data and properties are escaped as
  the Actions runner expects (`%` → `%25`, CR → `%0D`, LF → `%0A`; in properties also `:` and
  `,`).
- `$GITHUB_OUTPUT` takes `name<<DELIMITER` / value lines / `DELIMITER`, which is safe for any
  value as long as the delimiter does not occur in it.
- Untrusted text (the model's words, issue titles) must not start a log line with `::`, or the
  runner would take it as a command: `neutralize` defuses such lines.

Workflow commands mean something only to the Actions runner: elsewhere (`GITHUB_ACTIONS` is not
`true`) a `::add-mask::` line prints the very secret it was meant to hide. So the Action writes
them only inside Actions (`in_github_actions`); elsewhere it prints plain messages
(`plain_annotation`) and never a secret.
"""

from __future__ import annotations

import re
import secrets as _random
from collections.abc import Iterable, Mapping

_COMMAND_START = re.compile(r"^\s*(::|##\[)")
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
MIN_MASK_LENGTH = 4  # masking shorter strings would blank out ordinary words


def in_github_actions(environ: Mapping[str, str]) -> bool:
    """Whether this process is a step of a GitHub Actions job (the runner sets GITHUB_ACTIONS)."""
    return environ.get("GITHUB_ACTIONS", "").strip().lower() == "true"


def plain_annotation(level: str, message: str, *, title: str | None = None) -> str:
    """What `annotation` says, as an ordinary log line for a terminal or another CI."""
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"unknown annotation level {level!r}")
    return f"{title}: {level}: {message}" if title else f"{level}: {message}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def mask_commands(values: Iterable[str]) -> list[str]:
    """`::add-mask::` lines for every line of every value (deduplicated, longest first, so that
    a value's parts never mask a prefix of a longer one before it is masked whole)."""
    parts: set[str] = set()
    for value in values:
        for line in value.splitlines():
            line = line.strip()
            if len(line) >= MIN_MASK_LENGTH:
                parts.add(line)
    return [f"::add-mask::{part}" for part in sorted(parts, key=lambda p: (-len(p), p))]


def annotation(level: str, message: str, *, title: str | None = None) -> str:
    """An `error`, `warning` or `notice` annotation line."""
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"unknown annotation level {level!r}")
    props = f" title={escape_property(title)}" if title else ""
    return f"::{level}{props}::{escape_data(message)}"


def neutralize(line: str) -> str:
    """A log line that the runner will not read as a workflow command (`::...` or `##[...`,
    after leading whitespace, which the runner trims): such a line gets a visible `| ` prefix."""
    parts = _LINE_BREAK.split(line)  # lines at even indexes, the breaks between them at odd
    return "".join(
        "| " + part if i % 2 == 0 and _COMMAND_START.match(part) else part
        for i, part in enumerate(parts)
    )


def output_entries(values: Mapping[str, str], *, delimiter: str | None = None) -> str:
    """The text to append to `$GITHUB_OUTPUT` (or `$GITHUB_ENV`): each value in the multi-line
    delimiter form, whatever it contains."""
    chunks = []
    for name, value in values.items():
        if not name or "<<" in name or "\n" in name or "=" in name:
            raise ValueError(f"invalid output name {name!r}")
        marker = delimiter or f"ghadelimiter_{_random.token_hex(16)}"
        while marker in value or marker in name:
            marker = f"ghadelimiter_{_random.token_hex(16)}"
        chunks.append(f"{name}<<{marker}\n{value}\n{marker}\n")
    return "".join(chunks)
