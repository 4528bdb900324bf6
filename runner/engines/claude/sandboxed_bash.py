"""Run one Bash command of the Claude engine inside the runner's sandbox.

Claude Code's Bash tool runs a command line in the CLI's own environment, which holds the
model's API key. The engine therefore rewrites every command it allows into a call of this
module (`wrap_command`), and this module runs the model's command with `runner.sandbox.Sandbox`
(a cleared environment, bubblewrap where available, no network unless allowed), prints its output
and exits with its exit code. The model's command travels base64-encoded, so no shell quoting of
the model's text is involved; the command line holds paths and numbers only, never a secret.

A JSON report (exit code, timed out, duration, sandboxed) is written to `--report` for the engine,
which records the command from it.

The script is started as `python -I <this file> ...`: isolated mode, so neither the worktree
(the CLI's working directory, untrusted content) nor PYTHON* variables can put code on
`sys.path` ahead of the runner's own packages. Only the standard library is imported at the top;
the runner's packages are imported in `main`, after the project root is on `sys.path`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_EXIT_CODE = 124  # what coreutils' `timeout` answers, and what the model will recognise
REFUSED_EXIT_CODE = 126  # the shell's "cannot execute": no sandbox here, so nothing ran
_PROJECT_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class CommandReport:
    """What became of one sandboxed command, as written to `--report`."""

    exit_code: int | None
    timed_out: bool
    duration_s: float
    sandboxed: bool

    def to_json(self) -> str:
        return json.dumps(
            {
                "exit_code": self.exit_code,
                "timed_out": self.timed_out,
                "duration_s": self.duration_s,
                "sandboxed": self.sandboxed,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> CommandReport:
        data = json.loads(text)
        exit_code = data.get("exit_code")
        return cls(
            exit_code=exit_code if isinstance(exit_code, int) else None,
            timed_out=bool(data.get("timed_out", False)),
            duration_s=float(data.get("duration_s", 0.0)),
            sandboxed=bool(data.get("sandboxed", False)),
        )


def encode_command(command: str) -> str:
    return base64.urlsafe_b64encode(command.encode("utf-8")).decode("ascii")


def decode_command(encoded: str) -> str:
    return base64.urlsafe_b64decode(encoded.encode("ascii")).decode("utf-8")


def wrap_command(
    command: str,
    *,
    python: str,
    worktree: Path,
    timeout_s: float,
    report: Path,
    network: bool = False,
    sandbox: str = "auto",
    hide: Sequence[Path] = (),
) -> str:
    """The command line that runs `command` through this module; shell-quoted, secret-free.

    `hide`: paths the command must not see (the CLI's private config and temp directory).
    """
    argv = [
        python,
        "-I",
        str(Path(__file__).resolve()),
        "--worktree",
        str(worktree),
        "--timeout",
        f"{timeout_s:g}",
        "--report",
        str(report),
    ]
    if network:
        argv.append("--network")
    for path in hide:
        argv += ["--hide", str(path)]
    argv += ["--sandbox", sandbox]
    argv.append(encode_command(command))
    return shlex.join(argv)


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="sandboxed_bash", description="Run one command in the runner's sandbox."
    )
    parser.add_argument("--worktree", required=True, type=Path)
    parser.add_argument("--timeout", required=True, type=float)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--network", action="store_true")
    parser.add_argument("--hide", type=Path, action="append", default=[])
    parser.add_argument("--sandbox", default="auto", help="auto, container or off")
    parser.add_argument("command", help="the command, base64 (URL-safe) of its UTF-8 text")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    try:
        command = decode_command(args.command)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        sys.stderr.write("sandboxed_bash: the command is not valid base64 of UTF-8 text\n")
        return 2

    from runner.sandbox import Sandbox, SandboxUnavailable

    try:
        sandbox = Sandbox(
            args.worktree,
            network=args.network,
            timeout_s=args.timeout,
            mode=args.sandbox,
            hidden_paths=tuple(args.hide),
        )
        result = sandbox.run(command)
    except (SandboxUnavailable, ValueError) as error:  # fail closed: nothing ran
        sys.stdout.write(f"command refused: {error}\n")
        if args.report is not None:
            refused = CommandReport(
                exit_code=None, timed_out=False, duration_s=0.0, sandboxed=False
            )
            args.report.write_text(refused.to_json(), encoding="utf-8")
        return REFUSED_EXIT_CODE
    output = result.output
    if result.timed_out:
        output += f"\n[command timed out after {args.timeout:g} s and was stopped]\n"
    sys.stdout.write(output)
    sys.stdout.flush()
    exit_code = result.exit_code
    if args.report is not None:
        report = CommandReport(
            exit_code=exit_code,
            timed_out=result.timed_out,
            duration_s=result.duration_s,
            sandboxed=result.sandboxed,
        )
        args.report.write_text(report.to_json(), encoding="utf-8")
    return exit_code if 0 <= exit_code <= 255 else 1


if __name__ == "__main__":
    if str(_PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(_PROJECT_ROOT))
    sys.exit(main())
