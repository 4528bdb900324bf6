"""`python -m tests.demo [--engine claude|openai] [--once]`: see `tests/demo/__init__.py`.

Interactive by default: once the pull request and the check run's conclusion are in, it keeps
everything running so the printed links can be opened in a browser; Ctrl-C stops it all.
With `--once`, or when stdin is not a terminal, or when CI is set, it exits then instead:
status 0 when a pull request was opened and the check run concluded `success`, else 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

import httpx

from .seed import ISSUE_TITLE, LABEL, MAINTAINER, REPO, open_and_label_issue
from .stack import Engine, Stack, StackError, running_stack, tail
from .watch import Change, CommentShown, GitHubView, Progress, PullShown, RunShown

SETTLE_SECONDS = 3.0  # after the conclusion, time for the last edit of the issue comment


def interactive(once: bool, stdin_is_tty: bool, environ: Mapping[str, str]) -> bool:
    """Stay up for a person unless told not to, or nobody can press Ctrl-C (no TTY, CI)."""
    ci = environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return not once and stdin_is_tty and not ci


def indented(text: str, prefix: str = "    │ ") -> str:
    return "\n".join(prefix + line for line in (text.rstrip("\n") or "").splitlines())


def describe(change: Change) -> str:
    """What to print for one change on GitHub."""
    if isinstance(change, CommentShown):
        c = change.comment
        verb = "edited" if change.edited else "posted"
        head = f"Issue comment {verb} by {c['user']['login']}: {c['html_url']}"
        return f"{head}\n{indented(c['body'] or '')}"
    if isinstance(change, RunShown):
        run = change.run
        output = run.get("output") or {}
        state = run["status"] if run["status"] != "completed" else f"completed: {run['conclusion']}"
        title = output.get("title") or ""
        head = f"Check run {run['name']!r} {state} — {title}\n    {run['html_url']}"
        if run["status"] == "completed" and output.get("summary"):
            return f"{head}\n{indented(output['summary'])}"
        return head
    pull = change.pull
    draft = " (draft)" if pull.get("draft") else ""
    verb = "updated" if change.moved else "opened"
    return (
        f"Pull request #{pull['number']}{draft} {verb}: {pull['html_url']}\n"
        f"    {pull['title']} · {pull['head']['ref']} → {pull['base']['ref']}"
    )


class Demo:
    def __init__(self, stack: Stack, out: TextIO) -> None:
        self.stack = stack
        self.out = out
        self.started = time.monotonic()
        self.view = GitHubView(stack.emulator.api_url, REPO, stack.world.maintainer_token)

    def say(self, text: str) -> None:
        stamp = f"[{time.monotonic() - self.started:5.1f}s] "
        pad = " " * len(stamp)
        lines = text.splitlines() or [""]
        print(stamp + lines[0], file=self.out)
        for line in lines[1:]:
            print(pad + line, file=self.out)
        self.out.flush()

    def poll(self, progress: Progress) -> int:
        changes = progress.update(self.view.snapshot(progress.issue_number))
        for change in changes:
            self.say(describe(change))
            if isinstance(change, PullShown):
                diff = self.view.diff(change.pull)
                self.say(f"Diff ({change.pull['diff_url']}):\n{indented(diff, '    ')}")
        return len(changes)

    def watch(self, progress: Progress, until: Callable[[], bool], deadline: float) -> bool:
        while not until():
            if time.monotonic() > deadline:
                return False
            self.poll(progress)
            time.sleep(0.3)
        return True


def run(
    engine: Engine,
    *,
    stay: bool,
    timeout: float,
    state_dir: Path,
    out: TextIO,
    script: Path | None = None,
) -> int:
    print(f"autocoder demo: the {engine} engine, offline (state in {state_dir})", file=out)
    try:
        with running_stack(engine, state_dir, script) as stack:
            print(f"  GitHub emulator  {stack.emulator.base_url}", file=out)
            print(f"  scripted model   {stack.model.base_url}  ({stack.script})", file=out)
            print(f"  autocoder serve  {stack.serve_url}  (log: {stack.serve_log})", file=out)
            return _session(stack, stay=stay, timeout=timeout, out=out)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped: autocoder serve, the scripted model and the emulator.", file=out)
        return 0


def _session(stack: Stack, *, stay: bool, timeout: float, out: TextIO) -> int:
    demo = Demo(stack, out)
    try:
        issue = open_and_label_issue(stack.emulator)
        number = int(str(issue["number"]))
        demo.say(f"Issue #{number} {ISSUE_TITLE!r} opened by {MAINTAINER}: {issue['html_url']}")
        demo.say(f"{MAINTAINER} added the label {LABEL!r}: autocoder takes it from here")
        progress = Progress(number)
        done = demo.watch(progress, lambda: progress.finished, time.monotonic() + timeout)
        if not done:
            demo.say(f"No conclusion after {timeout:.0f} s. autocoder serve's log ends:")
            print(tail(stack.serve_log), file=out)
            return 1
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < SETTLE_SECONDS:
            if demo.poll(progress):
                quiet_since = time.monotonic()
            time.sleep(0.3)
        pull, conclusion = progress.pull, progress.conclusion
        ok = pull is not None and conclusion == "success"
        demo.say(
            f"{'Done' if ok else 'Finished without success'}: "
            f"pull request {pull['html_url'] if pull else '(none)'}, check run {conclusion}"
        )
        if not ok:
            print(f"autocoder serve's log ends:\n{tail(stack.serve_log)}", file=out)
        if stay:
            print(
                "\nThe links above open in a browser (pages served by the emulator). "
                "Press Ctrl-C to stop everything.",
                file=out,
                flush=True,
            )
            demo.watch(progress, lambda: False, float("inf"))
        return 0 if ok else 1
    except httpx.HTTPError as exc:
        print(f"error: could not read the emulator: {exc}", file=sys.stderr)
        return 1
    finally:
        demo.view.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.demo",
        description="Watch autocoder turn a labelled issue into a pull request, with no GitHub "
        "account and no model key: a local GitHub emulator, a scripted model and a real "
        "`autocoder serve`.",
    )
    parser.add_argument(
        "--engine", choices=("claude", "openai"), default="claude", help="default: claude"
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="exit after the pull request and the check run's conclusion (also when stdin is "
        "not a terminal or CI is set); exit status 0 on success",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the conclusion"
    )
    parser.add_argument(
        "--script",
        type=Path,
        default=None,
        help="the model's script (YAML or JSON, see tests/scripted_model/README.md); "
        "default: tests/demo/scripts/<engine>.json",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="a new or empty directory to keep the emulator's repositories, the database and "
        "serve.log in (default: a temporary directory, removed at the end)",
    )
    args = parser.parse_args(argv)
    if args.script is not None and not args.script.is_file():
        parser.error(f"--script {args.script}: no such file")
    stay = interactive(args.once, sys.stdin.isatty(), os.environ)
    with contextlib.ExitStack() as stack:
        state_dir: Path = args.state_dir
        if state_dir is None:
            state_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="autocoder-demo-"))
            )
        elif state_dir.exists() and any(state_dir.iterdir()):
            parser.error(f"--state-dir {state_dir} is not empty")
        state_dir.mkdir(parents=True, exist_ok=True)
        script = args.script.resolve() if args.script else None
        return run(
            args.engine,
            stay=stay,
            timeout=args.timeout,
            state_dir=state_dir.resolve(),
            out=sys.stdout,
            script=script,
        )


if __name__ == "__main__":
    sys.exit(main())
