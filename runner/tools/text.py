"""Pure text helpers behind the file tools: line numbers, diffs, exact replacement, near misses.

No I/O here; the toolbox reads and writes, these functions only look at strings.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

MAX_LINE_CHARS = 2_000


def number_lines(lines: list[str], first_number: int = 1) -> str:
    """Lines as `   12\\tcontent`, the way `read_file` shows them (long lines are cut)."""
    width = max(5, len(str(first_number + len(lines))))
    numbered = []
    for number, line in enumerate(lines, start=first_number):
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + f" [... line cut, {len(line)} characters in all]"
        numbered.append(f"{number:>{width}}\t{line}")
    return "\n".join(numbered)


def unified_diff(old: str, new: str, path: str) -> str:
    """A unified diff from `old` to `new`; empty when they are equal."""
    old_name = f"a/{path}" if old else "/dev/null"
    diff = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=old_name,
        tofile=f"b/{path}",
    )
    out = []
    for line in diff:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)


def count_changed_lines(diff: str) -> tuple[int, int]:
    """(added, removed) lines in a unified diff."""
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            continue
        if line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return added, removed


@dataclass(frozen=True)
class Replacement:
    """The outcome of `replace_exact`: the new text, or why there is none."""

    new_content: str | None
    occurrences: int
    hint: str = ""


def replace_exact(content: str, old_text: str, new_text: str) -> Replacement:
    """Replace the single exact occurrence of `old_text`.

    When it is missing, `hint` shows the closest lines of `content`; when it occurs more than
    once, nothing is replaced and `occurrences` says how often it was found.
    """
    occurrences = content.count(old_text)
    if occurrences == 1:
        return Replacement(content.replace(old_text, new_text, 1), 1)
    if occurrences == 0:
        return Replacement(None, 0, closest_lines(content, old_text))
    return Replacement(None, occurrences)


_MAX_COMPARED_WINDOWS = 20_000


def closest_lines(content: str, wanted: str) -> str:
    """The lines of `content` most like `wanted`, numbered; "" when none is close."""
    lines = content.splitlines()
    wanted_lines = wanted.strip("\n").splitlines() or [wanted]
    size = min(len(wanted_lines), len(lines))
    if size == 0:
        return ""
    target = "\n".join(line.strip() for line in wanted_lines)
    best_ratio, best_start = 0.0, -1
    windows = range(len(lines) - size + 1)
    if len(windows) > _MAX_COMPARED_WINDOWS:
        windows = range(_MAX_COMPARED_WINDOWS)
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(target)
    for start in windows:
        candidate = "\n".join(line.strip() for line in lines[start : start + size])
        matcher.set_seq1(candidate)
        if matcher.real_quick_ratio() <= best_ratio or matcher.quick_ratio() <= best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best_ratio, best_start = ratio, start
    if best_start < 0 or best_ratio < 0.5:
        return ""
    return number_lines(lines[best_start : best_start + size], first_number=best_start + 1)


def looks_binary(data: bytes) -> bool:
    """True for data with a NUL byte in its first 8 KiB (what git calls binary)."""
    return b"\0" in data[:8192]


def shorten_middle(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters, keeping its head and its tail."""
    if len(text) <= limit:
        return text
    keep = max(limit // 2, 1)
    omitted = len(text) - 2 * keep
    return f"{text[:keep]}\n[... {omitted} characters omitted ...]\n{text[-keep:]}"
