"""Reading one command's arguments as its `ArgSpec` says: paths read, paths written, text.

Long options may be abbreviated (GNU getopt and git accept any unambiguous prefix:
`sort --out=F` is `sort --output=F`), so an option is matched by prefix, most dangerous reading
first: a prefix of a forbidden option is refused, a prefix of a written-path option is a write.
Short options cluster (`-xvf FILE`): a value-taking letter takes the rest of the word or the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from runner.policy.arguments import ArgSpec
from runner.policy.shell_text import Word, literal_word
from runner.policy.walking import Cwds, Refused, Walker

__all__ = ["check_arguments", "long_option_kind"]

Kind = Literal["forbidden", "write", "read", "value", "flag"]


def long_option_kind(option: str, spec: ArgSpec) -> tuple[Kind, str]:
    """What a long option (`--name`, perhaps abbreviated) is, and its full name."""
    forbidden = {name for name, _ in spec.forbidden}
    groups: list[tuple[Kind, set[str] | frozenset[str]]] = [
        ("forbidden", forbidden),
        ("write", spec.write_opts),
        ("read", spec.read_opts),
        ("value", spec.value_opts),
    ]
    for kind, group in groups:
        if option in group:
            return kind, option
    if len(option) >= 3:
        for kind, group in groups:
            for name in sorted(group):
                if name.startswith("--") and name.startswith(option):
                    return kind, name
    return "flag", option


def _forbidden(name: str, option: str, spec: ArgSpec) -> Refused:
    why = dict(spec.forbidden).get(option, "is not allowed")
    return Refused(f"`{name} {option}` {why}")


def check_arguments(
    w: Walker, name: str, args: Sequence[Word], cwds: Cwds, spec: ArgSpec
) -> tuple[list[Word], set[str]]:
    """Check a command's arguments as `spec` says; returns its positionals and options seen."""
    positionals: list[Word] = []
    seen: set[str] = set()
    free = spec.positional == "free"
    short_forbidden = {opt for opt, _ in spec.forbidden if len(opt) == 2}
    takes_value = spec.value_opts | spec.read_opts | spec.write_opts
    end_of_options = False
    i = 0

    def option_value(option: str, value: Word | None) -> None:
        if value is None:
            return
        if option in spec.read_opts:
            w.check_word(name, value, cwds, write=False, strict=False)
        elif option in spec.write_opts:
            w.check_word(name, value, cwds, write=True, strict=True)

    while i < len(args):
        word = args[i]
        value = word.literal
        i += 1
        if end_of_options or value is None or not value.startswith("-") or value == "-":
            positionals.append(word)
            continue
        if value == "--":
            end_of_options = True
            continue
        if value.startswith("--"):
            option, eq, attached = value.partition("=")
            kind, option = long_option_kind(option, spec)
            seen.add(option)
            if kind == "forbidden":
                raise _forbidden(name, option, spec)
            if kind != "flag" and not eq:
                option_value(option, args[i] if i < len(args) else None)
                i += 1
            elif kind != "flag":
                option_value(option, literal_word(attached))
            elif eq and not free:
                w.check_word(name, literal_word(attached), cwds, write=False, strict=False)
            continue
        if value in {opt for opt, _ in spec.forbidden}:
            raise _forbidden(name, value, spec)
        for k in range(1, len(value)):
            option = "-" + value[k]
            seen.add(option)
            if option in short_forbidden:
                raise _forbidden(name, option, spec)
            if option in takes_value:
                rest = value[k + 1 :]
                if rest:
                    option_value(option, literal_word(rest))
                else:
                    option_value(option, args[i] if i < len(args) else None)
                    i += 1
                break
    if free:
        return positionals, seen
    leading = 0 if seen & spec.no_leading_text_with else spec.leading_text
    written = spec.positional == "write" or bool(seen & spec.write_with)
    checked = positionals[leading:]
    for index, word in enumerate(checked):
        last = index == len(checked) - 1
        write = (
            written
            or (spec.last_written and last and not seen & spec.write_opts)
            or index == spec.written_at
        )
        w.check_word(name, word, cwds, write=write, strict=spec.destructive)
    return positionals, seen
