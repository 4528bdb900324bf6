"""Interpreters: `python`, `node`, `bash`/`sh`.

Inside an interpreter a program can do anything, so for them the sandbox is the wall; the policy
keeps their paths in view. `bash -c STRING` judges STRING as a command line when it is written
out; a shell reading commands from its input (`curl x | sh`) is refused.
"""

from __future__ import annotations

from runner.policy.allowlist import names
from runner.policy.arguments import ArgSpec
from runner.policy.rules.generic import check_arguments
from runner.policy.shell_text import Word
from runner.policy.walking import Cwds, Refused, Walker

__all__ = ["node", "python", "shell"]

_NODE = ArgSpec(
    value_opts=names(
        """
        -e --eval -p --print -r --require --import --loader --input-type --conditions -C
        --max-old-space-size
        """
    )
)


def python(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    i = 0
    while i < len(args):
        value = args[i].literal
        if value is None:
            break
        if value in ("-c", "-m"):
            check_arguments(w, name, args[i + 2 :], cwds, ArgSpec())
            return cwds
        if value.startswith(("-c", "-m")) or value == "-":
            check_arguments(w, name, args[i + 1 :], cwds, ArgSpec())
            return cwds
        if value in ("-W", "-X", "--check-hash-based-pycs"):
            i += 2
            continue
        if not value.startswith("-"):
            break
        i += 1
    check_arguments(w, name, args[i:], cwds, ArgSpec())
    return cwds


def node(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    check_arguments(w, name, args, cwds, _NODE)
    return cwds


def shell(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    has_c = False
    from_stdin = False
    i = 0
    while i < len(args):
        word = args[i]
        value = word.literal
        if value is None:
            raise Refused(f"`{name}` arguments must be written out literally, not `{word.raw}`")
        if value == "--":
            i += 1
            break
        if value in ("-o", "+o", "-O", "+O"):
            i += 2
            continue
        if value in ("--rcfile", "--init-file"):
            raise Refused(f"`{name} {value}` is not supported; run the script as `{name} FILE`")
        if value.startswith("--"):
            i += 1
            continue
        if value.startswith(("-", "+")) and len(value) > 1:
            has_c = has_c or "c" in value[1:]
            from_stdin = from_stdin or "s" in value[1:] or "i" in value[1:]
            i += 1
            continue
        break
    positionals = args[i:]
    if has_c:
        if not positionals:
            raise Refused(f"`{name} -c` needs a command string")
        string = positionals[0].literal
        if string is None:
            raise Refused(
                f"`{name} -c` needs its command string written out literally; the policy "
                "judges that string as a command line"
            )
        w.nested(string, cwds, f"inside `{name} -c`")
        return cwds
    if from_stdin or not positionals:
        raise Refused(
            f"`{name}` without -c or a script file runs commands from its input, which the "
            "policy cannot see; write the commands out, or save them to a file in the "
            f"worktree and run `{name} FILE`"
        )
    # `bash FILE`: an interpreter running a script from the worktree; the sandbox is the wall.
    w.check_word(name, positionals[0], cwds, write=False, strict=True)
    check_arguments(w, name, positionals[1:], cwds, ArgSpec())
    return cwds
