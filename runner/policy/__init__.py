"""Which shell commands and file paths the model may use: pure judgments, no side effects.

`judge_command` judges a bash command line against a `CommandPolicy` (an allowlist and the
worktree); `judge_path` judges a path for the file tools. Both answer with a `Verdict` whose
reason, on a refusal, is written for the model to read and act on. Running an allowed command
is the sandbox's job (`runner.sandbox`).
"""

from runner.policy.allowlist import DEFAULT_ALLOWED_COMMANDS, HARD_REFUSED_COMMANDS
from runner.policy.judge import CommandPolicy, judge_command
from runner.policy.paths import judge_path
from runner.policy.verdict import Verdict

__all__ = [
    "DEFAULT_ALLOWED_COMMANDS",
    "HARD_REFUSED_COMMANDS",
    "CommandPolicy",
    "Verdict",
    "judge_command",
    "judge_path",
]
