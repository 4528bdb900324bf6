"""`find`: its start paths stay in the worktree, its actions are judged like commands.

`-exec CMD {} ;` judges CMD with `{}` standing for a file under find's start paths. As in find
itself, `+` ends an `-exec` only right after `{}`; elsewhere it is an argument. `-delete` and a
destructive `-exec` need a -name/-path filter, so a slip cannot empty the tree; start paths read
from a file (`-files0-from`) are unknown to the policy, so they cannot be combined with actions.
"""

from __future__ import annotations

import os

from runner.policy.allowlist import names
from runner.policy.rules.wrappers import DESTRUCTIVE
from runner.policy.shell_text import Word, literal_word
from runner.policy.walking import Cwds, Refused, Walker

__all__ = ["find"]

_NAME_TESTS = names(
    """
    -name -iname -path -ipath -wholename -iwholename -regex -iregex -lname -ilname
    """
)
_VALUE_TESTS = names(
    """
    -newer -anewer -cnewer -samefile -perm -type -xtype -user -group -uid -gid -size -mtime
    -mmin -atime -amin -ctime -cmin -maxdepth -mindepth -links -inum -printf -regextype
    -fstype -used -context
    """
)
_EXECS = ("-exec", "-execdir", "-ok", "-okdir")
_WRITES = ("-fprint", "-fprint0", "-fls", "-fprintf")


def _exec_words(args: list[Word], i: int) -> tuple[list[Word], int]:
    """The command of the `-exec` at `i`, and where the expression goes on."""
    j = i + 1
    while j < len(args):
        value = args[j].literal
        if value == ";" or (value == "+" and args[j - 1].literal == "{}"):
            return list(args[i + 1 : j]), j + 1
        j += 1
    raise Refused(f"`find {args[i].literal}` needs a closing `;` (or `{{}} +`)")


def find(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    i = 0
    while i < len(args) and (args[i].literal or "") in ("-H", "-L", "-P", "-D", "-O"):
        i += 2 if args[i].literal == "-D" else 1
    starts: list[Word] = []
    while i < len(args):
        value = args[i].literal
        if value is not None and (value.startswith("-") or value in ("(", ")", "!", ",")):
            break
        starts.append(args[i])
        i += 1
    if not starts:
        starts = [literal_word(".")]
    for start in starts:
        w.check_word(name, start, cwds, write=False, strict=False)
    deleting = False
    filtered = False
    from_file = False
    execs: list[tuple[str, list[Word]]] = []
    while i < len(args):
        value = args[i].literal
        if value in _EXECS:
            inner, i = _exec_words(args, i)
            execs.append((value or "", inner))
            continue
        if value == "-delete":
            deleting = True
        elif value == "-files0-from" and i + 1 < len(args):
            from_file = True
            w.check_word(name, args[i + 1], cwds, write=False, strict=True)
            i += 1
        elif value in _NAME_TESTS:
            filtered = True
            i += 1
        elif value in _VALUE_TESTS or (value or "").startswith("-newer"):
            i += 1
        elif value in _WRITES and i + 1 < len(args):
            w.check_word(name, args[i + 1], cwds, write=True, strict=True)
            i += 2 if value == "-fprintf" else 1
        i += 1
    place = " ".join(word.raw for word in starts)
    if from_file and (deleting or execs):
        raise Refused(
            "`find -files0-from` takes its start paths from a file the policy cannot see, so it "
            "cannot delete or run commands; list the start paths instead"
        )
    if deleting and not filtered:
        raise Refused(
            f"`find -delete` without a -name or -path filter would delete everything under "
            f"{place} (including .git); add a filter such as -name '*.pyc'"
        )
    found_values = tuple(
        os.path.join(start.literal, "{}") for start in starts if start.literal is not None
    )
    found = Word("{}", found_values, len(found_values) != len(starts))
    for action, inner in execs:
        if not inner:
            raise Refused(f"`find {action}` needs a command")
        program = inner[0].literal
        if program is not None and os.path.basename(program) in DESTRUCTIVE and not filtered:
            raise Refused(
                f"`find {action} {program}` without a -name or -path filter would act on "
                f"everything under {place} (including .git); add a filter such as -name '*.pyc'"
            )
        words = [found if word.literal == "{}" else word for word in inner]
        words = [
            Word(word.raw, (), True) if "{}" in word.raw and word is not found else word
            for word in words
        ]
        w.argv(words, cwds)
    return cwds
