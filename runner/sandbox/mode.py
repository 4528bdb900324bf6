"""Whether commands may run at all, and how confined: the sandbox mode and what it comes to here.

The sandbox is the boundary, not the command judge: a command the judge wrongly allows must
still be unable to reach the network, read the runner's secrets or outlive its time limit. So
autocoder fails closed. Without a working sandbox, commands are refused (and the command tool is
not offered to the model) unless the operator chose otherwise with `AUTOCODER_SANDBOX`:

- `auto` (the default): bubblewrap is required. Where it is missing or does not work, no command
  runs.
- `container`: the session runs in a container made for it (the App's container executor sets
  this), and the container is the sandbox. bubblewrap is used inside it when it works; otherwise
  commands run in the container itself.
- `off`: the operator accepts commands running unconfined on this machine (only a cleared
  environment, a scratch HOME and the time limit). Every report says so.

`SandboxStatus` is plain data (what the mode and the machine come to); `Sandbox` measures it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["INSTALL_HINT", "SandboxMode", "SandboxStatus", "parse_sandbox_mode"]

INSTALL_HINT = "apt-get install bubblewrap"
SETTING = "AUTOCODER_SANDBOX"


class SandboxMode(enum.StrEnum):
    AUTO = "auto"
    CONTAINER = "container"
    OFF = "off"


def parse_sandbox_mode(value: str | SandboxMode | None) -> SandboxMode:
    """The mode a setting names; empty means `auto`. Raises ValueError naming the choices."""
    if isinstance(value, SandboxMode):
        return value
    text = (value or "").strip().lower() or SandboxMode.AUTO.value
    try:
        return SandboxMode(text)
    except ValueError:
        choices = ", ".join(mode.value for mode in SandboxMode)
        raise ValueError(f"{SETTING}={value!r} is not one of: {choices}") from None


@dataclass(frozen=True)
class SandboxStatus:
    """What a mode comes to on this machine: `bwrap_problem` is None when bubblewrap works."""

    mode: SandboxMode
    bwrap_problem: str | None
    network: bool = False

    @property
    def confined_by_bwrap(self) -> bool:
        return self.mode is not SandboxMode.OFF and self.bwrap_problem is None

    @property
    def commands_allowed(self) -> bool:
        """Whether commands may run at all."""
        return self.confined_by_bwrap or self.mode is not SandboxMode.AUTO

    @property
    def unconfined(self) -> bool:
        """Commands run with no sandbox of autocoder's own (off, or a container without bwrap)."""
        return self.commands_allowed and not self.confined_by_bwrap

    def describe(self) -> str:
        """One line for the progress log: how commands are confined, or why none run."""
        if self.confined_by_bwrap:
            network = "network on" if self.network else "network off"
            where = " inside the session's container" if self.mode is SandboxMode.CONTAINER else ""
            return (
                f"bubblewrap{where}: {network}, worktree writable, git hooks and config "
                "read-only, rest read-only, credentials hidden, environment cleared"
            )
        notice = self.notice()
        assert notice is not None  # only None when confined by bubblewrap
        return notice

    def notice(self) -> str | None:
        """A warning every report shows when commands are unconfined or unavailable, else None."""
        if self.confined_by_bwrap:
            return None
        if self.mode is SandboxMode.CONTAINER:
            return (
                f"sandbox: the session's container ({SETTING}=container; bubblewrap is not "
                f"usable inside it: {self.bwrap_problem}) — commands run in the container with "
                "a cleared environment"
            )
        if self.mode is SandboxMode.OFF:
            return (
                f"sandbox off ({SETTING}=off): commands run UNCONFINED on this machine, with "
                "network access and only a cleared environment"
            )
        return (
            f"commands unavailable: no working sandbox ({self.bwrap_problem}). Install "
            f"bubblewrap ({INSTALL_HINT}), or set {SETTING}=off to run commands unconfined "
            "(not recommended)"
        )

    def refusal(self) -> str:
        """Why a command was refused, for the model (meaningful when commands are not allowed)."""
        return (
            "commands are disabled in this session: there is no working sandbox on this "
            "machine. Work with the file tools only (read, write, edit, list)."
        )
