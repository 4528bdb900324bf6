"""Per-command rules: how each command's arguments are read, one command family per module.

`RULES` maps a command name to its rule; a command without one has its arguments read by
`generic.check_arguments` with its `ArgSpec` (see `runner.policy.arguments`).
"""

from __future__ import annotations

from runner.policy.rules import builtins, files, find, git, interpreters, wrappers
from runner.policy.walking import Rule

__all__ = ["RULES"]

RULES: dict[str, Rule] = {
    "cd": builtins.cd,
    "pushd": builtins.cd,
    "popd": builtins.popd,
    "export": builtins.export,
    "read": builtins.read,
    "printf": builtins.printf,
    "test": builtins.test,
    "[": builtins.test,
    "env": wrappers.env,
    "timeout": wrappers.timeout,
    "nice": wrappers.nice,
    "nohup": wrappers.nohup,
    "command": wrappers.command,
    "xargs": wrappers.xargs,
    "find": find.find,
    "git": git.git,
    "python": interpreters.python,
    "python3": interpreters.python,
    "node": interpreters.node,
    "bash": interpreters.shell,
    "sh": interpreters.shell,
    "rm": files.rm,
    "rmdir": files.rm,
    "chmod": files.chmod,
    "rg": files.rg,
    "cp": files.copy,
    "mv": files.copy,
    "ln": files.link,
    "tar": files.tar,
}
