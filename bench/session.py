"""Label → pull request: autocoder beside a minimal loop, on one emulator, in one run.

    python -m bench.session [--via serve,runner] [-v]

A two-turn scripted session (the model writes a file with Bash, then answers) runs three ways,
each on its own repository and its own scripted model server (same script):

- `minimal`: `bench/minimal_loop.py`, the least a loop with the same claude-agent-sdk can do;
- `runner`: autocoder's runner called in this process (`run_session`), as `autocoder run` does —
  the session alone, without the App;
- `serve`: `autocoder serve` as a real subprocess, woken by the label's webhook, labelled once
  its warm spare session process has done its imports (a server up for a few seconds; `--cold`
  labels at once, and then also times those imports, ~1-2 s).

For each it prints label (or start) → first model request, label → completed pull request (the
check run concluded and, for autocoder, the status comment edited), the ratio to the minimal
loop, and the GitHub REST calls the emulator answered in that time (from its request log; -v
lists them). Targets (issue #11): first model request ≤ 2 s, ≤ 1.5× the minimal loop,
≤ 12 REST calls.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.minimal_loop import MinimalLoop, running_minimal_loop
from tests.demo.seed import FILES, LABEL, MAINTAINER, REPO, seed
from tests.demo.stack import free_port, running_serve, serve_env, tail
from tests.emulator.client import Emulator, running_emulator
from tests.emulator.reqlog import RequestRecord
from tests.scripted_model.script import Turn, text_turn, tool_turn
from tests.scripted_model.server import ModelServer, running_model_server

TITLE = "Add a farewell"
BODY = "Please add `farewell(name)` returning `Goodbye, <name>!`."
WRITE = "printf '%s\\n' 'def farewell(name):' '    return f\"Goodbye, {name}!\"' > farewell.py"
TARGET_FIRST_REQUEST_S = 2.0
TARGET_RATIO = 1.5
TARGET_REST_CALLS = 12


def script() -> list[Turn]:
    return [
        tool_turn("Bash", {"command": WRITE, "description": "Write farewell.py"}, text="Adding."),
        text_turn("Added farewell() in farewell.py."),
    ]


@dataclass(frozen=True)
class Figures:
    name: str
    first_request_s: float | None
    done_s: float
    rest_calls: list[RequestRecord]
    error: str | None = None


def first_turn_at(model: ModelServer) -> float | None:
    turns = [r.at for r in model.requests if r.role == "turn"]
    return min(turns) if turns else None


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.02)


def concluded(records: list[RequestRecord], check_name: str) -> bool:
    """Whether the session's final check-run conclusion (not the `neutral` hand-over) went out."""
    for record in records:
        body = record.request_body if isinstance(record.request_body, dict) else {}
        final = body.get("conclusion") not in (None, "neutral")
        if "/check-runs" in record.path and record.status < 300 and final:
            return check_name in (body.get("name"), None)
    return False


def measure_minimal(emulator: Emulator, world_dir: Path) -> Figures:
    app = emulator.register_app("minimal")
    repo = "octo/minimal"
    emulator.create_repo(repo, FILES)
    installation = emulator.install(app.id, repo)
    assert installation
    emulator.add_user(MAINTAINER, "write", repo)
    with running_model_server("anthropic", script()) as model:
        loop = MinimalLoop(
            emulator.api_url, app.id, app.private_key, app.webhook_secret, model.base_url
        )
        with running_minimal_loop(loop) as url:
            emulator.set_webhook_url(app.id, url)
            person = emulator.act_as(MAINTAINER)
            number = int(person.open_issue(repo, TITLE, BODY)["number"])
            emulator.clear_requests()
            started = time.time()
            person.label_issue(repo, number, LABEL)
            if not loop.done.wait(180):
                raise TimeoutError("the minimal loop did not finish in 180 s")
            done = time.time() - started
            calls = emulator.requests()
            first = first_turn_at(model)
    return Figures("minimal loop", first - started if first else None, done, calls, loop.error)


def measure_runner(emulator: Emulator, app_id: int, private_key: str, cache: Path) -> Figures:
    """The runner in this process, as `autocoder run` calls it (start = the call)."""
    from runner.bootstrap import github_credentials, make_engine, session_deps
    from runner.github.client import GitHubClient
    from runner.session import run_session
    from runner.settings import RunnerSettings
    from runner.task_loader import load_issue_task

    repo = "octo/direct"
    emulator.create_repo(repo, FILES)
    emulator.install(app_id, repo)
    emulator.add_user(MAINTAINER, "write", repo)
    number = int(emulator.act_as(MAINTAINER).open_issue(repo, TITLE, BODY)["number"])
    with (
        running_model_server("anthropic", script()) as model,
        _environ(
            AUTOCODER_GITHUB_API_URL=emulator.api_url,
            AUTOCODER_GITHUB_APP_ID=str(app_id),
            AUTOCODER_GITHUB_PRIVATE_KEY=private_key,
            AUTOCODER_CACHE_DIR=str(cache),
            AUTOCODER_ENGINE="claude",
            AUTOCODER_MAX_TURNS="10",
            ANTHROPIC_BASE_URL=model.base_url,
            ANTHROPIC_API_KEY="sk-ant-bench-not-a-real-key",
        ),
    ):
        settings = RunnerSettings()
        emulator.clear_requests()
        started = time.time()
        credentials = github_credentials(settings, repo)
        with GitHubClient(credentials, seconds_between_writes=0) as github:
            task = load_issue_task(
                github, repo, number, triggered_by=MAINTAINER, limits=settings.limits()
            )
            deps = session_deps(settings, github, credentials, make_engine(settings))
            result = asyncio.run(run_session(task, deps))
        done = time.time() - started
        calls = emulator.requests()
        first = first_turn_at(model)
    error = None if result.pull_request_url else f"no pull request ({result.conclusion})"
    return Figures("autocoder runner", first - started if first else None, done, calls, error)


def spare_ready(log_dir: Path) -> bool:
    from runner.session_process import WARM_LINE

    return any(WARM_LINE in path.read_text() for path in log_dir.glob("spare-*.log"))


def measure_serve(emulator: Emulator, state: Path, *, cold: bool = False) -> Figures:
    port = free_port()
    world = seed(emulator, f"http://127.0.0.1:{port}/api/github/webhooks")
    with running_model_server("anthropic", script()) as model:
        env = serve_env(
            os.environ,
            engine="claude",
            state_dir=state,
            emulator_url=emulator.api_url,
            model_url=model.base_url,
            world=world,
        )
        (state / "home").mkdir(parents=True, exist_ok=True)
        with running_serve(env, state, port, state / "serve.log"):
            # A server up for a few seconds has its warm spare ready; labelling the moment it
            # answers would time the spare's imports instead (`cold` in the docstring).
            if not cold:
                wait_until(lambda: spare_ready(state / "sessions"), 60, "the warm spare")
            person = emulator.act_as(MAINTAINER)
            number = int(person.open_issue(REPO, TITLE, BODY)["number"])
            emulator.clear_requests()
            started = time.time()
            person.label_issue(REPO, number, LABEL)

            def finished() -> bool:
                records = emulator.requests()
                if not concluded(records, "autocoder"):
                    return False
                last = max(i for i, r in enumerate(records) if "/check-runs" in r.path)
                return any("/issues/comments/" in r.path for r in records[last:])

            try:
                wait_until(finished, 180, "autocoder serve's session")
            except TimeoutError as exc:
                log = tail(state / "serve.log", 60)
                raise TimeoutError(f"{exc}; serve.log ends:\n{log}") from None
            done = time.time() - started
            time.sleep(1.0)  # anything the session still sends after its last report
            calls = emulator.requests()
            first = first_turn_at(model)
    return Figures("autocoder serve", first - started if first else None, done, calls)


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def report(rows: list[Figures], verbose: bool) -> list[str]:
    base = rows[0].done_s
    lines = [
        f"{'':18} {'→ 1st model request':>20} {'→ PR completed':>15} {'ratio':>6} {'REST':>5}",
    ]
    for row in rows:
        first = f"{row.first_request_s:.2f} s" if row.first_request_s is not None else "-"
        lines.append(
            f"{row.name:18} {first:>20} {row.done_s:>13.2f} s {row.done_s / base:>6.2f} "
            f"{len(row.rest_calls):>5}" + (f"   ERROR: {row.error}" if row.error else "")
        )
    for row in rows[1:]:
        ok = [
            row.first_request_s is not None and row.first_request_s <= TARGET_FIRST_REQUEST_S,
            row.done_s / base <= TARGET_RATIO,
            len(row.rest_calls) <= TARGET_REST_CALLS,
        ]
        marks = ["met" if good else "MISSED" for good in ok]
        lines.append(
            f"targets, {row.name}: first request ≤ {TARGET_FIRST_REQUEST_S:.0f} s {marks[0]}; "
            f"≤ {TARGET_RATIO}× minimal {marks[1]}; ≤ {TARGET_REST_CALLS} REST calls {marks[2]}"
        )
    if verbose:
        for row in rows:
            lines.append(f"\n{row.name}: REST calls")
            lines += [f"  {r.method:6} {r.path} {r.status}" for r in row.rest_calls]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.session", description=__doc__)
    parser.add_argument("--via", default="runner,serve", help="runner, serve or both (default)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the REST calls")
    parser.add_argument(
        "--keep",
        type=Path,
        help="work in this directory and keep it (serve/serve.log, the "
        "session logs under serve/sessions/: where the time went)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="label the moment serve answers, before its warm spare has done its imports",
    )
    args = parser.parse_args(argv)
    ways = {w.strip() for w in args.via.split(",") if w.strip()}
    with ExitStack() as stack:
        if args.keep is not None:
            root = args.keep.resolve()
            root.mkdir(parents=True, exist_ok=False)
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-session-")))
        emulator = stack.enter_context(running_emulator(root / "github"))
        rows = [measure_minimal(emulator, root)]
        if "runner" in ways:
            app = emulator.register_app("autocoder-direct")
            rows.append(measure_runner(emulator, app.id, app.private_key, root / "cache-direct"))
        if "serve" in ways:
            (root / "serve").mkdir()
            rows.append(measure_serve(emulator, root / "serve", cold=args.cold))
    print("\n".join(report(rows, args.verbose)))
    return 0 if all(row.error is None for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
