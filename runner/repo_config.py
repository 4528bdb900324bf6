"""A repository's own settings for autocoder: `.github/autocoder.yml`.

```yaml
allowed_commands: [cargo-nextest, just]   # added to the command allowlist
setup_commands: ["pip install -e .[dev]"] # run before the session
test_command: pytest -q
instructions: |
  Keep the public API stable.
network: false                            # sandbox network (default: off)
sequence: merged                          # a spec's features: each waits for the one before
                                          # to be merged (default: stacked on its branch)
max_turns: 60                             # optional: lower the session limits
max_cost_usd: 5
max_tokens: 2000000                       # input + output tokens of one session
timeout_minutes: 45
squash_checkpoints: true                  # the final commit replaces the checkpoint commits
steer: mentions                           # a mention of the app steers a running session too
max_cost_usd_per_issue: 20                # optional: lower the spend caps across sessions
max_tokens_per_issue: 8000000
max_cost_usd_per_repository_day: 50
max_tokens_per_repository_day: 20000000
```

Limits and caps set here can only LOWER the operator's (`AUTOCODER_*`), never raise them: a
value above the operator's is ignored (`runner.limits.lowered_limits`).

Anyone who can open a pull request can change this file, so the runner reads it from the base
branch worktree (what the repository's maintainers merged), never from the branch a session
works on. And it can only widen the allowlist: the hard rules (no `git push`, no remote or
credential changes, no `sudo`, `eval`, `source`, ...) are not allowlist entries and stay.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runner.policy import HARD_REFUSED_COMMANDS
from runner.spend import Cap, CapScope

__all__ = ["CONFIG_PATH", "RepoConfig", "RepoConfigError", "load_repo_config", "parse_repo_config"]

CONFIG_PATH = Path(".github") / "autocoder.yml"
_COMMAND_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class RepoConfigError(ValueError):
    """The repository's `.github/autocoder.yml` is malformed; the message says where and how."""


@dataclass(frozen=True)
class RepoConfig:
    allowed_commands: tuple[str, ...] = ()
    setup_commands: tuple[str, ...] = ()
    test_command: str | None = None
    instructions: str | None = None
    network: bool = False
    sequence: str = "stacked"  # a spec's features: "stacked" branches, or "merged" one by one
    max_turns: int | None = None
    max_cost_usd: float | None = None
    timeout_minutes: float | None = None
    max_tokens: int | None = None
    max_cost_usd_per_issue: float | None = None
    max_tokens_per_issue: int | None = None
    max_cost_usd_per_repository_day: float | None = None
    max_tokens_per_repository_day: int | None = None
    squash_checkpoints: bool = False  # the final commit replaces the session's checkpoints
    steer: str = "command"  # "mentions": a mention of the app also steers a running session

    def caps(self) -> dict[CapScope, Cap]:
        """The caps across sessions this repository sets (each only ever lowers the
        operator's)."""
        caps = {
            CapScope.ISSUE: Cap(usd=self.max_cost_usd_per_issue, tokens=self.max_tokens_per_issue),
            CapScope.REPOSITORY_DAY: Cap(
                usd=self.max_cost_usd_per_repository_day, tokens=self.max_tokens_per_repository_day
            ),
        }
        return {scope: cap for scope, cap in caps.items() if not cap.empty}


def load_repo_config(worktree: Path) -> RepoConfig:
    """Read `.github/autocoder.yml` from `worktree` (the base branch's); defaults when absent.

    Raises `RepoConfigError` naming the file, the line and what to fix.
    """
    path = worktree / CONFIG_PATH
    if not path.is_file():
        return RepoConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RepoConfigError(f"{CONFIG_PATH}: cannot be read as UTF-8 text: {error}") from None
    return parse_repo_config(text, source=str(CONFIG_PATH))


def parse_repo_config(text: str, *, source: str = str(CONFIG_PATH)) -> RepoConfig:
    """Parse the configuration file's text; `source` names it in error messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark is not None else source
        problem = getattr(error, "problem", None) or str(error)
        raise RepoConfigError(
            f"{where}: not valid YAML ({problem}); fix the syntax, e.g. check indentation "
            "and quote values that contain ': ' or start with '*', '&' or '!'"
        ) from None
    if node is None:
        return RepoConfig()
    if not isinstance(node, yaml.MappingNode):
        raise RepoConfigError(
            f"{source}, line {node.start_mark.line + 1}: the file must be a mapping of settings "
            f"(key: value), one of: {', '.join(_FIELDS)}"
        )
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in _FIELDS:
            close = difflib.get_close_matches(str(key), list(_FIELDS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise RepoConfigError(
                f"{source}, line {line}: unknown setting {key!r}; {hint}"
                f"known settings: {', '.join(_FIELDS)}"
            )
        if key in values:
            raise RepoConfigError(f"{source}, line {line}: {key!r} is set twice; keep one")
        value = yaml.SafeLoader(text).construct_object(value_node, deep=True)
        values[key] = _FIELDS[key](value, f"{source}, line {value_node.start_mark.line + 1}")
    return RepoConfig(**values)


def _string_list(what: str) -> Callable[[Any, str], tuple[str, ...]]:
    def check(value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() for item in value
        ):
            raise RepoConfigError(
                f"{where}: `{what}` must be a list of non-empty strings, e.g. {what}: [a, b]"
            )
        return tuple(item.strip() for item in value)

    return check


def _allowed_commands(value: Any, where: str) -> tuple[str, ...]:
    names = _string_list("allowed_commands")(value, where)
    for name in names:
        if not _COMMAND_NAME.match(name):
            raise RepoConfigError(
                f"{where}: allowed_commands entry {name!r} is not a command name; list bare "
                "names such as `cargo-nextest` (no paths, spaces or arguments)"
            )
        if name in HARD_REFUSED_COMMANDS:
            raise RepoConfigError(
                f"{where}: {name!r} cannot be allowed: {HARD_REFUSED_COMMANDS[name]}"
            )
    return names


def _optional_text(what: str) -> Callable[[Any, str], str | None]:
    def check(value: Any, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise RepoConfigError(f"{where}: `{what}` must be a string (quote it if needed)")
        return value.strip() or None

    return check


def _flag(what: str) -> Callable[[Any, str], bool]:
    def check(value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise RepoConfigError(f"{where}: {what} must be true or false, not {value!r}")
        return value

    return check


def _steer(value: Any, where: str) -> str:
    if value not in ("command", "mentions"):
        raise RepoConfigError(
            f"{where}: steer must be 'command' (only `/autocoder tell`) or 'mentions' (any "
            f"comment mentioning the app), not {value!r}"
        )
    return str(value)


def _sequence(value: Any, where: str) -> str:
    if value not in ("stacked", "merged"):
        raise RepoConfigError(
            f"{where}: `sequence` must be 'stacked' (each feature's branch builds on the one "
            f"before) or 'merged' (each waits for the one before to be merged), not {value!r}"
        )
    return str(value)


def _network(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise RepoConfigError(f"{where}: `network` must be true or false")
    return value


def _positive_int(what: str) -> Callable[[Any, str], int | None]:
    def check(value: Any, where: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise RepoConfigError(f"{where}: `{what}` must be a whole number above 0")
        return value

    return check


def _positive_number(what: str) -> Callable[[Any, str], float | None]:
    def check(value: Any, where: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise RepoConfigError(f"{where}: `{what}` must be a number above 0")
        return float(value)

    return check


_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "allowed_commands": _allowed_commands,
    "setup_commands": _string_list("setup_commands"),
    "test_command": _optional_text("test_command"),
    "instructions": _optional_text("instructions"),
    "network": _network,
    "sequence": _sequence,
    "max_turns": _positive_int("max_turns"),
    "max_cost_usd": _positive_number("max_cost_usd"),
    "timeout_minutes": _positive_number("timeout_minutes"),
    "max_tokens": _positive_int("max_tokens"),
    "max_cost_usd_per_issue": _positive_number("max_cost_usd_per_issue"),
    "max_tokens_per_issue": _positive_int("max_tokens_per_issue"),
    "max_cost_usd_per_repository_day": _positive_number("max_cost_usd_per_repository_day"),
    "max_tokens_per_repository_day": _positive_int("max_tokens_per_repository_day"),
    "squash_checkpoints": _flag("squash_checkpoints"),
    "steer": _steer,
}
