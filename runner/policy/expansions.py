"""Expansions that make bash evaluate text as code, which the policy refuses to guess about.

Arithmetic evaluates the *values* of the variables it names as expressions, and an array
subscript in such a value runs command substitutions: with `x='a[$(cmd)]'` (read from a file,
say) `$((x))`, `[[ $x -eq 1 ]]` and `${s:$x}` all run `cmd`. Prompt expansion (`${x@P}`) and
indirect expansion (`${!x}`) do the same. The policy cannot know such values, so these forms are
refused unless everything in them is written out as numbers.
"""

from __future__ import annotations

import re

__all__ = ["arithmetic_problem", "parameter_problem"]

_PLAIN_ARITHMETIC = re.compile(r"^[0-9\s+\-*/%()<>=!&|^~?:,]*$")
_NAME = re.compile(r"#?([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])")
_SAFE_SUBSCRIPT = re.compile(r"^(\d+|@|\*)$")
_SAFE_TRANSFORMS = frozenset("QEAaUuLKk")
_EVALUATES = (
    "evaluates text as code (arithmetic on a variable runs any command substitution hidden in "
    "its value); write the numbers out, or compute with `expr`"
)


def arithmetic_problem(body: str) -> str | None:
    """Why bash's arithmetic on `body` (inside `$(( ))`) could run code, or None."""
    if _PLAIN_ARITHMETIC.match(body):
        return None
    return f"`$(({body.strip()}))` {_EVALUATES}"


def parameter_problem(text: str, start: int) -> str | None:
    """Why the parameter expansion `${...}` whose body starts at `start` could run code, or None.

    Refused: indirect expansion `${!x}`, prompt expansion `${x@P}` (and unknown transforms),
    array subscripts other than numbers, `@` and `*`, substrings with computed offsets.
    """
    body = text[start:]
    if body.startswith("!") and not body.startswith("!}"):
        return "indirect expansion `${!...}` evaluates a name held in a variable; name it directly"
    match = _NAME.match(body)
    if match is None:
        return None  # bash rejects it ("bad substitution")
    rest = body[match.end() :]
    if rest.startswith("["):
        end = rest.find("]")
        subscript = rest[1:end] if end > 0 else rest[1:]
        if not _SAFE_SUBSCRIPT.match(subscript):
            return f"the array subscript `[{subscript}]` {_EVALUATES}; use a number, `@` or `*`"
        rest = rest[end + 1 :] if end > 0 else ""
    if rest.startswith("@") and len(rest) > 1 and rest[1] not in "}" + "".join(_SAFE_TRANSFORMS):
        return f"the transformation `@{rest[1]}` expands prompts or runs code; leave it out"
    if rest.startswith(":") and rest[1:2] not in ("-", "=", "+", "?"):
        end = rest.find("}")
        offsets = rest[1:end] if end > 0 else rest[1:]
        if re.search(r"[A-Za-z_$`\[]", offsets):
            return f"the substring offsets `{offsets}` {_EVALUATES}"
    return None
