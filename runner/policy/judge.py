"""Judging one shell command line: `judge_command(command, policy)` → `Verdict`.

The walker (`runner.policy.walker`) reads the command's structure exactly as bash will run it
and refuses where it cannot be sure; the per-command rules (`runner.policy.rules`) read each
command's arguments. Decisions on the edge cases, and why:

- Interpreters (python, node, npm, make, pytest, awk, sed, `bash FILE`, a program from the
  worktree) are allowed. Inside them a program can do anything, so for them the sandbox (no
  network, read-only system, no secrets in the environment) is the wall, not this policy.
- `bash -c STRING` / `sh -c STRING`: the string is judged recursively when written out; a
  shell reading commands from a pipe (`curl x | sh`) is refused.
- `eval`, `exec`, `source`/`.`, function definitions, aliases and traps are refused: each makes
  a name or a string mean something the policy cannot see when it judges the line.
- Text bash would evaluate as code is refused: arithmetic on variables (`$((x))`, `[[ $x -eq 1
  ]]`), `${x@P}`, `${!x}`, `test -v 'a[...]'`; so is text the parser could read unlike bash: a
  comment inside `$( )`, a backslash-newline inside a word.
- Options that make an allowed tool start a program (`git --upload-pack`, `tar --to-command`,
  `sort --compress-program`, `rg --pre`) are refused, abbreviated or clustered as the tool
  accepts them; options and positionals that write (`uniq IN OUT`, `cp X DIR`) are writes.
- Redirections may write only inside the worktree (or /dev/null, /dev/stdout, /dev/stderr) and
  read only inside it; a redirection from a run-time value (`< $X`) is refused, since bash
  itself opens `/dev/tcp/...`; a `cd` out of the worktree is refused.
"""

from __future__ import annotations

from runner.policy.command_policy import CommandPolicy
from runner.policy.verdict import Verdict
from runner.policy.walker import ShellWalker
from runner.policy.walking import Refused

__all__ = ["CommandPolicy", "judge_command"]

_MAX_COMMAND_LENGTH = 200_000


def judge_command(command: str, policy: CommandPolicy) -> Verdict:
    """Whether the model may run `command` (a bash command line) in the worktree, and why not."""
    if not command.strip():
        return Verdict.refuse("the command is empty")
    if len(command) > _MAX_COMMAND_LENGTH:
        return Verdict.refuse(
            f"the command is {len(command)} characters long (limit {_MAX_COMMAND_LENGTH}); "
            "write long content to a file with the file tools instead"
        )
    if "\x00" in command:
        return Verdict.refuse("the command contains a NUL character")
    root = policy.worktree.resolve()
    try:
        ShellWalker(policy, root, depth=0).text(command, frozenset({root}))
    except Refused as refused:
        return Verdict.refuse(refused.reason)
    return Verdict.allow()
