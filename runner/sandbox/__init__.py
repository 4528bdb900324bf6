"""Running one already-judged shell command: confined by bubblewrap, with no secrets in sight.

`Sandbox(worktree).run(command)` answers a `CommandResult`; `clean_environment` is the
environment every command gets. Deciding whether a command may run at all is the policy's job
(`runner.policy`); here the sandbox is the wall for what the policy cannot see (interpreters).
Without a working sandbox no command runs unless `AUTOCODER_SANDBOX` says otherwise
(`SandboxMode`, see `runner.sandbox.mode`).
"""

from runner.sandbox.environment import clean_environment
from runner.sandbox.mode import SandboxMode, SandboxStatus, parse_sandbox_mode
from runner.sandbox.sandbox import CommandResult, Sandbox, SandboxUnavailable

__all__ = [
    "CommandResult",
    "Sandbox",
    "SandboxMode",
    "SandboxStatus",
    "SandboxUnavailable",
    "clean_environment",
    "parse_sandbox_mode",
]
