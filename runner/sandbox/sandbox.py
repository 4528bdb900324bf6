"""`Sandbox`: run one (already judged) shell command in the worktree, confined, or not at all.

Under bubblewrap the command sees a read-only system, no network, a private /tmp and HOME, the
worktree writable, and no secrets (see `runner.sandbox.bwrap`). Without bubblewrap it fails
closed: `run` raises `SandboxUnavailable`, unless the mode (`runner.sandbox.mode`) says the
container is the sandbox or the operator turned it off. Then the command still runs with a
cleaned environment, a temporary HOME, in its own process group and with the same time and
output limits, and the result says `sandboxed=False`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.sandbox.bwrap import bwrap_argv, home_secrets
from runner.sandbox.environment import SANDBOX_HOME, SANDBOX_TMP, clean_environment
from runner.sandbox.mode import INSTALL_HINT, SandboxMode, SandboxStatus, parse_sandbox_mode
from runner.sandbox.process import run_process
from runner.workspace.sandbox_git import prepare_sandbox_git

__all__ = ["CommandResult", "Sandbox", "SandboxUnavailable"]

log = logging.getLogger(__name__)


class SandboxUnavailable(RuntimeError):
    """No working sandbox here, and the mode does not let commands run without one."""


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int  # 124 when the time limit stopped it; 128+N when signal N killed it
    output: str  # stdout and stderr combined, truncated to the output limit with a note
    timed_out: bool
    duration_s: float
    sandboxed: bool


def _homes() -> list[Path]:
    homes = {Path("/root"), Path.home()}
    home_root = Path("/home")
    if home_root.is_dir():
        with contextlib.suppress(OSError):
            homes.update(p for p in home_root.iterdir() if p.is_dir())
    return sorted(h for h in homes if h.is_dir())


def _interpreter_dirs() -> list[Path]:
    """The Python environment autocoder runs in (a virtualenv may live anywhere, /tmp too)."""
    return sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()})


def _path_dirs(env: Mapping[str, str]) -> list[Path]:
    dirs: list[Path] = []
    for entry in env.get("PATH", "").split(os.pathsep):
        if entry and os.path.isabs(entry):
            path = Path(entry)
            dirs.append(path)
            dirs.append(path.resolve())
    return dirs


class Sandbox:
    """Runs shell commands in one worktree, under bubblewrap when available."""

    def __init__(
        self,
        worktree: Path,
        *,
        network: bool = False,
        timeout_s: float = 120,
        output_limit: int = 50_000,
        mode: SandboxMode | str = SandboxMode.AUTO,
        hidden_paths: Sequence[Path] = (),
    ) -> None:
        """`mode` (`runner.sandbox.mode`): `auto` requires bubblewrap (without it `run` raises
        `SandboxUnavailable`), `container` uses it when it works and else runs commands in the
        container, `off` never uses it (commands run unconfined).
        `hidden_paths`: more files or directories to hide from commands (say, the app's key)."""
        self.worktree = worktree.resolve()
        self.network = network
        self.timeout_s = timeout_s
        self.output_limit = output_limit
        self.hidden_paths = tuple(Path(p) for p in hidden_paths)
        self.mode = parse_sandbox_mode(mode)
        self._bwrap: str | None = None
        problem: str | None = "not used (AUTOCODER_SANDBOX=off)"
        if self.mode is not SandboxMode.OFF:
            found = shutil.which("bwrap")
            if found is None:
                problem = f"bwrap not found ({INSTALL_HINT})"
            else:
                problem = self._probe(found)
                if problem is None:
                    self._bwrap = found
                else:
                    problem = f"bwrap does not work here: {problem}"
        self.status = SandboxStatus(self.mode, problem, network=network)
        if not self.status.confined_by_bwrap:
            log.warning("%s", self.status.describe())

    def _probe(self, bwrap: str) -> str | None:
        """Why bubblewrap cannot run a trivial command with our options here, or None."""
        argv = [bwrap, "--die-with-parent", "--cap-drop", "ALL", "--unshare-pid"]
        if not self.network:
            argv.append("--unshare-net")
        argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return str(error)
        if done.returncode != 0:
            return done.stderr.decode("utf-8", errors="replace").strip() or "exit status " + str(
                done.returncode
            )
        return None

    @property
    def enabled(self) -> bool:
        """True when commands run under bubblewrap."""
        return self._bwrap is not None

    @property
    def commands_allowed(self) -> bool:
        """False when there is no working sandbox and the mode does not allow running without."""
        return self.status.commands_allowed

    def describe(self) -> str:
        """One line for the report: how commands are confined, or why none run."""
        return self.status.describe()

    def run(self, command: str) -> CommandResult:
        """Run `command` with `bash -c` in the worktree; never raises for the command's failure.

        Raises `SandboxUnavailable` (before anything runs) when commands are not allowed here."""
        if not self.status.commands_allowed:
            raise SandboxUnavailable(self.status.refusal())
        if self._bwrap is not None:
            env = clean_environment(os.environ, home=SANDBOX_HOME, tmpdir=SANDBOX_TMP)
            argv = bwrap_argv(
                ["bash", "--noprofile", "--norc", "-c", command],
                bwrap=self._bwrap,
                worktree=self.worktree,
                network=self.network,
                git=prepare_sandbox_git(self.worktree),
                hidden=[*home_secrets(_homes()), *self.hidden_paths],
                keep_visible=[*_path_dirs(env), *_interpreter_dirs()],
            )
            outcome = run_process(
                argv,
                env=env,
                cwd=self.worktree,
                timeout_s=self.timeout_s,
                output_limit=self.output_limit,
            )
            return CommandResult(
                command,
                outcome.exit_code,
                outcome.output,
                outcome.timed_out,
                outcome.duration_s,
                sandboxed=True,
            )
        with tempfile.TemporaryDirectory(prefix="autocoder-cmd-") as scratch:
            home = Path(scratch) / "home"
            tmp = Path(scratch) / "tmp"
            home.mkdir()
            tmp.mkdir()
            env = clean_environment(os.environ, home=str(home), tmpdir=str(tmp))
            outcome = run_process(
                ["bash", "--noprofile", "--norc", "-c", command],
                env=env,
                cwd=self.worktree,
                timeout_s=self.timeout_s,
                output_limit=self.output_limit,
            )
        return CommandResult(
            command,
            outcome.exit_code,
            outcome.output,
            outcome.timed_out,
            outcome.duration_s,
            sandboxed=False,
        )
