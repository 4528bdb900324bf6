"""Shell builtins with rules of their own: `cd` stays in the worktree; `export`, `read`,
`printf -v` may not set protected variables; `test -v` may only name a plain variable."""

from __future__ import annotations

import re

from runner.policy.allowlist import protected_variable_reason
from runner.policy.shell_text import Word
from runner.policy.walking import Cwds, Refused, Walker

__all__ = ["cd", "export", "popd", "printf", "read", "test"]

ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\+?=")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _protect(variable: str) -> None:
    reason = protected_variable_reason(variable)
    if reason:
        raise Refused(reason)


def cd(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    i = 0
    while i < len(args) and (args[i].literal or "") in ("-L", "-P", "-e", "-@", "-Pe", "-eP"):
        i += 1
    if i < len(args) and args[i].literal == "--":
        i += 1
    targets = args[i:]
    if not targets:
        raise Refused(
            f"`{name}` without a directory goes to the home directory, outside the worktree; "
            "give a directory inside the worktree"
        )
    target = targets[0]
    value = target.literal
    if value is None:
        raise Refused(f"`{name}` needs a directory written out literally, not `{target.raw}`")
    if value == "-" or (value.startswith(("-", "+")) and len(value) > 1):
        raise Refused(f"`{name} {value}` is not supported; name the directory")
    w.check(f"`{name} {target.raw}`", value, cwds, write=False)
    return frozenset((cwd / value).resolve() for cwd in cwds)


def popd(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    return cwds  # back to a directory pushd already checked


def export(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    for word in args:
        if word.literal in ("-n", "-p", "--"):
            continue
        if word.literal == "-f":
            raise Refused("`export -f` exports shell functions, which are not allowed")
        if word.literal is None:
            raise Refused(f"`export` needs its names written out literally, not `{word.raw}`")
        match = ASSIGNMENT.match(word.literal)
        _protect(match.group(1) if match else word.literal)
    return cwds


def read(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    i = 0
    while i < len(args):
        value = args[i].literal or ""
        if value in ("-d", "-n", "-N", "-p", "-t", "-u", "-i"):
            i += 2
            continue
        if value == "-a" and i + 1 < len(args):
            value = args[i + 1].literal or ""
            i += 1
        elif value.startswith("-"):
            i += 1
            continue
        _protect(value)
        i += 1
    return cwds


def printf(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    if args and args[0].literal == "-v" and len(args) > 1:
        _protect(args[1].literal or "")
    return cwds


def test(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    for index, word in enumerate(args):
        if word.literal == "-v":
            following = args[index + 1].literal if index + 1 < len(args) else ""
            if following is None or not _NAME.match(following):
                raise Refused(
                    f"`{name} -v` with `{args[index + 1].raw if index + 1 < len(args) else ''}`:"
                    " a subscript in the name runs code; test a plain variable name"
                )
    return cwds
