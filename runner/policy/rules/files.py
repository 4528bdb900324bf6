"""Commands that write, move or remove files: where each path really lands.

`cp`/`mv`/`ln` into a directory write `DIR/NAME` (so `cp -r stage/.git .` writes `./.git`); a
link's target must stay in the worktree and out of `.git` (writing through the link would land
there); `rm` may not remove the whole worktree; `chmod` may not set setuid bits; `tar` in the old
clustered form (`tar xIf PROG a.tar`) is read like its dashed form; `rg --pre` runs a program.
"""

from __future__ import annotations

import os
import re

from runner.policy.arguments import ArgSpec, spec_for
from runner.policy.rules.generic import check_arguments
from runner.policy.shell_text import Word, literal_word
from runner.policy.walking import Cwds, Refused, Walker

__all__ = ["chmod", "copy", "link", "rg", "rm", "tar"]

_SETUID = re.compile(r"[+=][rwxXtugo]*s")
_TAR_VALUE_LETTERS = frozenset("fCTXIFbgKNVLH")
# `ln`'s positionals are checked by `link` itself: a symlink's target is relative to the link.
_LN = ArgSpec(positional="free", value_opts=frozenset({"-S", "--suffix"}))


def rm(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    positionals, _ = check_arguments(w, name, args, cwds, spec_for(name))
    for word in positionals:
        for value in word.values:
            if any((cwd / value).resolve() == w.root for cwd in cwds):
                raise Refused(
                    f"`{name} {word.raw}` would delete the whole worktree; "
                    "name the files or directories to remove"
                )
    return cwds


def chmod(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    positionals, seen = check_arguments(w, name, args, cwds, spec_for(name))
    if "--reference" in seen or not positionals:
        return cwds
    mode = positionals[0]
    value = mode.literal
    if value is None:
        raise Refused(f"`chmod` needs its mode written out, not `{mode.raw}`")
    octal = value.isdigit() and len(value) >= 4 and int(value[-4]) & 6
    if octal or _SETUID.search(value):
        raise Refused(
            f"`chmod {value}` sets the setuid/setgid bit, which is not allowed; "
            "use modes such as +x or 644"
        )
    return cwds


def rg(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    for word in args:
        value = word.literal or ""
        if value.startswith("--pre"):
            raise Refused("`rg --pre` runs a program on every file; search without it")
    check_arguments(w, name, args, cwds, spec_for(name))
    return cwds


def _targets(args: list[Word], positionals: list[Word]) -> tuple[list[Word], Word | None]:
    """Sources and the destination of `cp`/`mv`/`ln` (`-t DIR` or the last positional)."""
    for index, word in enumerate(args):
        value = word.literal or ""
        if value in ("-t", "--target-directory") and index + 1 < len(args):
            return positionals, args[index + 1]
        if value.startswith(("--target-directory=", "-t")) and value not in ("-t",):
            directory = value.split("=", 1)[1] if "=" in value else value[2:]
            return positionals, literal_word(directory)
    if len(positionals) < 2:
        return positionals, None
    return positionals[:-1], positionals[-1]


def _landing(w: Walker, name: str, sources: list[Word], dest: Word, cwds: Cwds) -> None:
    """A destination directory receives each source under its own name: check those paths."""
    if dest.literal is None:
        return  # checked (and refused) as a run-time destination already
    for source in sources:
        for value in source.values:
            base = os.path.basename(os.path.normpath(value))
            if base and base not in (".", ".."):
                w.check(f"`{name}`", os.path.join(dest.literal, base), cwds, write=True)


def copy(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    """`cp` and `mv`."""
    positionals, _ = check_arguments(w, name, args, cwds, spec_for(name))
    sources, dest = _targets(args, positionals)
    if dest is not None:
        _landing(w, name, sources, dest, cwds)
    return cwds


def link(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    """`ln [-s] TARGET... [LINK|DIR]`: the link is written; its target must stay inside too."""
    positionals, seen = check_arguments(w, name, args, cwds, _LN)
    symbolic = "-s" in seen or "--symbolic" in seen
    targets, dest = _targets(args, positionals)
    if dest is None and targets:
        dest = literal_word(".")
    if dest is not None:
        w.check_word(name, dest, cwds, write=True, strict=True)
        _landing(w, name, targets, dest, cwds)
    link_dir = "."
    if dest is not None and dest.literal is not None and len(targets) == 1:
        link_dir = os.path.dirname(dest.literal) or "."
    for target in targets:
        if target.literal is None:
            raise Refused(f"`{name}` needs its target written out, not `{target.raw}`")
        value = target.literal
        where = value if (value.startswith("/") or not symbolic) else os.path.join(link_dir, value)
        w.check(f"`{name}` target", where, cwds, write=True)
    return cwds


def tar(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    words = list(args)
    first = words[0].literal if words else None
    if first is not None and first and not first.startswith("-"):
        # Old form: `tar xzf ARCHIVE`: letters are options, their values follow in order.
        expanded: list[Word] = []
        rest = words[1:]
        for letter in first:
            expanded.append(literal_word("-" + letter))
            if letter in _TAR_VALUE_LETTERS and rest:
                expanded.append(rest.pop(0))
        words = expanded + rest
    for index, word in enumerate(words):
        value = word.literal or ""
        archive = None
        if value.startswith(("--file=", "--fil=", "--fi=")):
            archive = value.split("=", 1)[1]
        elif value.startswith("-") and not value.startswith("--") and "f" in value:
            attached = value[value.index("f") + 1 :]
            following = words[index + 1].literal if index + 1 < len(words) else None
            archive = attached or following
        if archive and ":" in archive and "--force-local" not in (x.literal for x in words):
            raise Refused(
                f"`tar -f {archive}`: a `:` makes tar open a remote archive through a "
                "program; use a plain file name"
            )
    check_arguments(w, name, words, cwds, spec_for(name))
    return cwds
