"""Commands that run another command: `env`, `timeout`, `nice`, `nohup`, `command`, `xargs`.

The inner command is judged like any other. `env` assignments are read after quote removal
(`env 'LD_PRELOAD=x' ls` sets LD_PRELOAD); `xargs` with a destructive command is refused, because
its paths come from its input, which the policy cannot see.
"""

from __future__ import annotations

import os

from runner.policy.allowlist import protected_variable_reason
from runner.policy.rules.builtins import ASSIGNMENT
from runner.policy.shell_text import Word, literal_word
from runner.policy.walking import Cwds, Refused, Walker

__all__ = ["DESTRUCTIVE", "command", "env", "nice", "nohup", "timeout", "xargs"]

# Commands that change or remove the paths they are given: never fed paths the policy can't see.
DESTRUCTIVE = frozenset(
    {"rm", "rmdir", "mv", "cp", "chmod", "chown", "ln", "truncate", "tee", "dd", "shred", "patch"}
)
_XARGS_VALUE_OPTIONS = frozenset(
    {
        "-d",
        "--delimiter",
        "-E",
        "-I",
        "--replace",
        "-L",
        "--max-lines",
        "-n",
        "--max-args",
        "-P",
        "--max-procs",
        "-s",
        "--max-chars",
        "--process-slot-var",
    }
)


def env(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    i = 0
    while i < len(args):
        value = args[i].literal
        if value is None:
            raise Refused(f"`env` arguments must be written out literally, not `{args[i].raw}`")
        match = ASSIGNMENT.match(value)
        if match:
            reason = protected_variable_reason(match.group(1))
            if reason:
                raise Refused(reason)
            i += 1
            continue
        if value in ("-i", "--ignore-environment", "-0", "--null", "-", "-v", "--debug"):
            i += 1
        elif value == "--":
            i += 1
            break
        elif value in ("-u", "--unset"):
            i += 2
        elif value.startswith(("--unset=", "-u")):
            i += 1
        elif value.startswith(("-S", "--split-string", "--s")):
            raise Refused("`env -S` splits a string into a command; write the command out")
        elif value.startswith("-"):
            raise Refused(f"`env {value}` is not supported; use `cd DIR && CMD` or plain CMD")
        else:
            break
    while i < len(args) and args[i].literal is not None:
        match = ASSIGNMENT.match(args[i].literal or "")
        if not match:
            break
        reason = protected_variable_reason(match.group(1))
        if reason:
            raise Refused(reason)
        i += 1
    if i >= len(args):
        return cwds  # prints the environment: the sandbox has cleared it of secrets
    return w.argv(list(args[i:]), cwds)


def timeout(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    i = 0
    while i < len(args) and (args[i].literal or "").startswith("-"):
        value = args[i].literal or ""
        if value == "--":
            i += 1
            break
        i += 2 if value in ("-s", "--signal", "-k", "--kill-after") else 1
    i += 1  # the duration
    if i >= len(args):
        return cwds
    return w.argv(list(args[i:]), cwds)


def nice(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    i = 0
    while i < len(args) and (args[i].literal or "").startswith("-"):
        if args[i].literal == "--":
            i += 1
            break
        i += 2 if args[i].literal in ("-n", "--adjustment") else 1
    return w.argv(list(args[i:]), cwds) if i < len(args) else cwds


def nohup(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    rest = args[1:] if args and args[0].literal == "--" else args
    return w.argv(list(rest), cwds) if rest else cwds


def command(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    if not args or any(word.literal in ("-v", "-V") for word in args[:1]):
        return cwds  # `command -v NAME` only looks the name up
    rest = args[1:] if args[0].literal in ("-p", "--") else args
    return w.argv(list(rest), cwds) if rest else cwds


def xargs(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    replace: str | None = None
    i = 0
    while i < len(args):
        value = args[i].literal
        if value is None or not value.startswith("-"):
            break
        if value == "--":
            i += 1
            break
        option, eq, attached = value.partition("=")
        if option in ("-a", "--arg-file"):
            file = literal_word(attached) if eq else (args[i + 1] if i + 1 < len(args) else None)
            if file is not None:
                w.check_word(name, file, cwds, write=False, strict=True)
            i += 1 if eq else 2
        elif option in _XARGS_VALUE_OPTIONS:
            given = attached if eq else (args[i + 1].literal if i + 1 < len(args) else None)
            if option in ("-I", "--replace"):
                replace = given or "{}"
            i += 1 if eq else 2
        elif value.startswith(("-I", "-i")):
            replace = value[2:] or "{}"
            i += 1
        else:
            i += 1
    inner = list(args[i:])
    if not inner:
        return cwds  # xargs runs echo
    program = inner[0].literal
    if program is not None and os.path.basename(program) in DESTRUCTIVE:
        raise Refused(
            f"`xargs {program}` would act on whatever paths arrive on its input, which the "
            "policy cannot see; list the paths (`rm a b`) or use "
            "`find . -name PATTERN -delete`"
        )
    if replace is not None:
        inner = [Word(word.raw, (), True) if replace in word.raw else word for word in inner]
    return w.argv(inner, cwds)
