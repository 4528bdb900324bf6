"""`[[ ... ]]`, read the way bash reads it, for a parser (bashlex) that cannot.

Inside `[[ ]]` words are not split or globbed and `<`, `>`, `&&`, `||`, `(`, `)` are operators
of the expression, not of the shell. `read_conditional` finds the closing `]]`, checks the
expression and says which words bash will expand (those holding a command substitution); the
scanner rewrites the rest to blanks so bashlex sees `: WORDS...`, a plain command whose
substitutions the policy judges like any other.

Refused: arithmetic comparisons (`-eq`, `-lt`, ...) on anything but written-out numbers (bash
evaluates their operands as arithmetic, see `runner.policy.expansions`), `-v` on anything but a
plain name (a subscript runs code), and operators glued to words, which are easy to misread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Conditional", "read_conditional", "word_end"]

_ARITHMETIC_OPS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
_OPERATOR_CHARS = frozenset("&|<>();")
_SPACE = frozenset(" \t\n")
_INTEGER = re.compile(r"^-?[0-9]+$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SUBSTITUTION = re.compile(r"\$\(|`|[<>]\(")


@dataclass(frozen=True)
class Conditional:
    end: int  # index just after the closing `]]`
    kept: tuple[tuple[int, int], ...]  # spans of words bash expands with a command substitution
    problem: str | None


def _matching(text: str, j: int, opener: str, closer: str) -> int:
    """Index just after the `closer` matching the `opener` at `j` (quotes respected)."""
    depth = 0
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "'":
            end = text.find("'", j + 1)
            j = len(text) if end < 0 else end + 1
            continue
        if c == '"':
            j += 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            continue
        if c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(text)


def word_end(text: str, j: int, *, regex: bool = False) -> int:
    """Where the shell word starting at `j` ends (quotes and substitutions kept whole).

    With `regex` (the right side of `=~`), `(`, `)` and `|` belong to the word, as in bash."""
    while j < len(text):
        c = text[j]
        if c in _SPACE:
            return j
        if c in _OPERATOR_CHARS and not (regex and c in "()|"):
            return j
        if c == "\\":
            j += 2
        elif c == "'":
            end = text.find("'", j + 1)
            j = len(text) if end < 0 else end + 1
        elif c == '"':
            j += 1
            while j < len(text) and text[j] != '"':
                if text.startswith("$(", j):
                    j = _matching(text, j + 1, "(", ")")
                    continue
                j += 2 if text[j] == "\\" else 1
            j += 1
        elif c == "$" and text.startswith("(", j + 1):
            j = _matching(text, j + 1, "(", ")")
        elif c == "$" and text.startswith("{", j + 1):
            j = _matching(text, j + 1, "{", "}")
        elif c == "`":
            end = text.find("`", j + 1)
            j = len(text) if end < 0 else end + 1
        else:
            j += 1
    return j


def _unquoted(word: str) -> str:
    return word.replace("'", "").replace('"', "")


def read_conditional(text: str, start: int) -> Conditional:
    """Read `[[ ... ]]` where `start` is the index of `[[`."""
    words: list[tuple[int, int]] = []
    j = start + 2
    regex_next = False
    while True:
        while j < len(text) and text[j] in _SPACE:
            j += 1
        if j >= len(text):
            return Conditional(len(text), (), "`[[` without a closing `]]`")
        if text[j] in _OPERATOR_CHARS:
            width = 2 if text[j : j + 2] in ("&&", "||") else 1
            if text[j] == ";" or (text[j] in "&|" and width == 1):
                return Conditional(j, (), f"`{text[j]}` inside `[[ ]]`; use `&&` or `||`")
            words.append((j, j + width))
            j += width
            continue
        end = word_end(text, j, regex=regex_next)
        word = text[j:end]
        if word == "]]":
            return _judge(text, words, end)
        words.append((j, end))
        regex_next = word == "=~"
        j = end


def _judge(text: str, spans: list[tuple[int, int]], end: int) -> Conditional:
    words = [text[a:b] for a, b in spans]
    for index, word in enumerate(words):
        before = _unquoted(words[index - 1]) if index > 0 else ""
        after = _unquoted(words[index + 1]) if index + 1 < len(words) else ""
        if word.startswith("#"):
            return Conditional(end, (), "a `#` word inside `[[ ]]` is read as a comment; quote it")
        if word in _ARITHMETIC_OPS and not (_INTEGER.match(before) and _INTEGER.match(after)):
            return Conditional(
                end,
                (),
                f"`[[ {before} {word} {after} ]]` evaluates both sides as arithmetic, which runs "
                f"code hidden in a variable's value; compare numbers with `[ A {word} B ]`",
            )
        if word == "-v" and not _NAME.match(after):
            return Conditional(
                end, (), f"`-v {after}`: a subscript in the name runs code; test a plain name"
            )
    kept = tuple(
        span for span, word in zip(spans, words, strict=True) if _SUBSTITUTION.search(word)
    )
    return Conditional(end, kept, None)
