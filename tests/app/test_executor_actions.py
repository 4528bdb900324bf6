"""The `actions` executor: a session dispatched as a `workflow_dispatch` run of the session
workflow (`app/executors/autocoder-session.yml`) through the GitHub emulator, carried out by a
stand-in runner that does what GitHub would — reads the workflow at the dispatched ref and runs
its session step with the dispatch's inputs — so `python -m app.executors.actions_run` fetches
the work order from the App once, runs the real session (scripted model) and reports its events
to the App, where the worker's end reads them as from a local session. A run that never starts
is detected and ends the attempt; the one-time token works once; a stop reaches the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import ValidationError

from app.executors.actions import ActionsOptions, actions_executor
from app.executors.base import LaunchSpec
from app.executors.remote_orders import Deadlines, RemoteOrders
from app.settings import AppSettings
from runner.events import Failure, Result, SessionEvent, parse_event
from runner.settings import RunnerSettings
from runner.work_order import WorkKind, WorkOrder
from tests.app.queue_harness import add_job
from tests.app.webhook_harness import running_app, wait_for
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, READER, REPO, World

WORKFLOW = Path(__file__).resolve().parents[2] / "app" / "executors" / "autocoder-session.yml"


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    emulator = github_emulator
    app = emulator.register_app(
        "autocoder",
        permissions={
            "actions": "write",
            "checks": "write",
            "contents": "write",
            "issues": "write",
            "metadata": "read",
            "pull_requests": "write",
        },
    )
    files = {
        "README.md": "# hello\n",
        ".github/workflows/autocoder-session.yml": WORKFLOW.read_text(),
    }
    repo = emulator.create_repo(REPO, files)
    installation_id = emulator.install(app.id, REPO)
    maintainer = emulator.add_user(MAINTAINER, "write", REPO, token=True)
    emulator.add_user(READER, "read", REPO, token=True)
    world = World(emulator, app, repo, installation_id)
    world.maintainer_token = maintainer.token or ""
    return world


def app_settings(world: World, tmp_path: Path, public_url: str | None, **extra: Any) -> AppSettings:
    return AppSettings.model_validate(
        {
            "github_app_id": world.app.id,
            "github_private_key": world.app.private_key,
            "webhook_secret": world.app.webhook_secret,
            "github_api_url": world.emulator.api_url,
            "database_url": f"sqlite:///{tmp_path / 'autocoder.db'}",
            "executor": "actions",
            "public_url": public_url,
            **extra,
        }
    )


def _dispatched(app: Any, settings: AppSettings, orders: RemoteOrders) -> tuple[int, Any]:
    """A queued job of issue 1, and its session launched by the actions executor."""
    sessions = app.state.autocoder.database.sessions
    with sessions() as db:
        job = add_job(db, 1)
        assert job is not None
        db.commit()
        job_id = job.id
    handle = actions_executor(settings, orders, sessions).launch(
        LaunchSpec(job_id=job_id, attempt=1)
    )
    return job_id, handle


def stand_in_runner(emulator: Emulator, dispatch: dict[str, Any], env: dict[str, str]) -> int:
    """What GitHub's runner does with a dispatch, for the steps that matter: the workflow at
    the dispatched commit, its session step's `env` with `${{ inputs.X }}` filled in, its `run`
    command in bash. (`actions/setup-python` and the install step are skipped: the package is
    installed here already.)"""
    repo = emulator.core.world.repo(*REPO.split("/"))
    assert repo is not None
    text = subprocess.run(
        [
            "git",
            "--git-dir",
            str(repo.path),
            "show",
            f"{dispatch['sha']}:.github/workflows/{dispatch['workflow']}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    workflow = yaml.safe_load(text)
    declared = workflow[True]["workflow_dispatch"]["inputs"]
    assert set(dispatch["inputs"]) == set(declared)
    [step] = [s for s in workflow["jobs"]["session"]["steps"] if s.get("id") == "session"]
    step_env = dict(env)
    for name, value in step["env"].items():
        for key, given in dispatch["inputs"].items():
            value = value.replace("${{ inputs." + key + " }}", given)
        assert "${{" not in value, value
        step_env[name] = value
    step_env["GITHUB_ACTIONS"] = "true"
    done = subprocess.run(["bash", "-c", step["run"]], env=step_env, timeout=240)
    return done.returncode


def read_events(handle: Any, out: list[SessionEvent]) -> threading.Thread:
    def read() -> None:
        for raw in handle.stdout:
            if raw.strip():
                out.append(parse_event(raw))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def order_for(job_id: int, world: World, settings: dict[str, Any]) -> WorkOrder:
    token = world.emulator.installation_token(world.app, world.installation_id)
    return WorkOrder(
        job_id=job_id,
        attempt=1,
        session_id="s-actions-1",
        kind=WorkKind.START,
        repository=REPO,
        issue_number=1,
        github_token=token,  # type: ignore[arg-type]
        settings=RunnerSettings.model_validate(settings),
    )


def test_a_dispatched_run_fetches_its_order_runs_the_session_and_reports_back(
    world: World, tmp_path: Path
) -> None:
    number = world.open_issue("Add a farewell", "Please add farewell() returning 'bye'.")
    assert number == 1
    turns = [
        write_turn("openai", "farewell.py", "def farewell():\n    return 'bye'\n"),
        final_turn("Added farewell() in farewell.py."),
    ]
    with running_model_server("openai", turns) as model:
        probe = app_settings(world, tmp_path, "http://127.0.0.1:1")
        with running_app(probe) as (url, app):
            orders: RemoteOrders = app.state.remote_orders
            settings = app_settings(world, tmp_path, url)
            state = app.state.autocoder
            with state.database.sessions() as db:
                job = add_job(db, number)
                assert job is not None
                db.commit()
                job_id = job.id
            executor = actions_executor(settings, orders, state.database.sessions)
            handle = executor.launch(LaunchSpec(job_id=job_id, attempt=1))
            order = order_for(
                job_id,
                world,
                {
                    "engine": "openai",
                    "base_url": model.base_url,
                    "model": "scripted",
                    "api_key": "sk-model-key-for-tests",
                    "max_turns": 10,
                    "github_api_url": world.emulator.api_url,
                    "cache_dir": "/nonexistent/server/cache",  # the server's: not the run's
                    "commit_name": world.app.bot_login,
                    "commit_email": f"{world.app.bot_id}+{world.app.bot_login}@example.com",
                },
            )
            events: list[SessionEvent] = []
            reader = read_events(handle, events)
            handle.stdin.write(order.to_line().encode())
            handle.stdin.flush()
            [dispatch] = wait_for(
                lambda: world.emulator.workflow_dispatches(REPO), timeout=15, what="the dispatch"
            )
            assert dispatch["workflow"] == "autocoder-session.yml" and dispatch["ref"] == "main"
            assert dispatch["inputs"]["app_url"] == url
            assert "ghs_" not in json.dumps(dispatch), "no GitHub token in the dispatch"
            token = dispatch["inputs"]["token"]
            env = {
                "PATH": os.environ["PATH"],
                "HOME": str(tmp_path / "runner-home"),
                "AUTOCODER_REPORT_SECONDS": "0.5",
            }
            env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
            assert stand_in_runner(world.emulator, dispatch, env) == 0
            assert handle.wait(timeout=30) == 0
            reader.join(10)
            # the one-time token has been used: a second fetch is refused
            again = httpx.get(
                f"{url}/api/work-orders/{dispatch['inputs']['work_order_id']}",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert again.status_code in (401, 410)
    types = [e.type for e in events]
    assert types[0] == "started" and "check_run" in types
    last = events[-1]
    assert isinstance(last, Result) and last.conclusion == "success", events[-3:]
    [pull] = [p for p in open_pulls(world) if f"#{number}" in (p["body"] or "")]
    assert last.pull_request_url == pull["html_url"]


def test_a_run_that_never_starts_ends_the_attempt_and_its_token_expires(
    world: World, tmp_path: Path
) -> None:
    settings = app_settings(world, tmp_path, "http://127.0.0.1:1", actions_start_timeout=1.0)
    with running_app(settings) as (url, app):
        orders: RemoteOrders = app.state.remote_orders
        assert orders.deadlines.start_s == 1.0
        job_id, handle = _dispatched(app, settings, orders)
        events: list[SessionEvent] = []
        reader = read_events(handle, events)
        handle.stdin.write(order_for(job_id, world, {}).to_line().encode())
        handle.stdin.flush()
        [dispatch] = wait_for(lambda: world.emulator.workflow_dispatches(REPO), timeout=15)
        started = time.monotonic()
        assert handle.wait(timeout=20) == 0
        assert time.monotonic() - started < 10
        reader.join(10)
        [failure] = events
        assert isinstance(failure, Failure) and failure.transient
        assert "did not start" in failure.error
        late = httpx.get(
            f"{url}/api/work-orders/{dispatch['inputs']['work_order_id']}",
            headers={"Authorization": f"Bearer {dispatch['inputs']['token']}"},
        )
        assert late.status_code in (401, 410)


def test_the_dispatch_token_works_once_and_a_stop_reaches_the_run() -> None:
    orders = RemoteOrders(Deadlines(start_s=60, silence_s=60))
    remote, token = orders.open(1, 1)
    remote.stdin.write(b'{"job_id": 1}\n')
    remote.stdin.flush()
    wait_for(lambda: remote.order is not None)
    with pytest.raises(Exception) as wrong:
        remote.fetch("not-the-token")
    assert getattr(wrong.value, "status", None) == 401
    order, events_token = remote.fetch(token)
    assert order == {"job_id": 1}
    with pytest.raises(Exception) as twice:
        remote.fetch(token)
    assert getattr(twice.value, "status", None) == 410
    with pytest.raises(Exception) as bad:
        remote.report(token, [], None)  # the dispatch token is not an events token
    assert getattr(bad.value, "status", None) == 401
    remote.stdin.write(b'{"type": "stop", "reason": "cancelled by mona"}\n')
    remote.stdin.flush()
    controls = wait_for(lambda: remote.report(events_token, [], None))
    assert controls == [{"type": "stop", "reason": "cancelled by mona"}]
    remote.report(events_token, [{"type": "result", "conclusion": "cancelled"}], 0)
    assert remote.ended.is_set() and remote.stdout.readline().startswith(b'{"type":"result"')
    with pytest.raises(Exception) as over:
        remote.report(events_token, [], None)
    assert getattr(over.value, "status", None) == 410
    orders.stop()


def test_a_run_reaches_the_replica_that_dispatched_it_at_its_work_order_url(
    world: World, tmp_path: Path
) -> None:
    """Two replicas behind one public URL: the run is given the dispatching replica's own
    address (AUTOCODER_WORK_ORDER_URL). The other replica, which the shared URL might reach,
    holds no such attempt and refuses the fetch and the reports with 401; the named one
    answers."""
    probe = app_settings(world, tmp_path, "http://127.0.0.1:1")
    with running_app(probe) as (shared, _other), running_app(probe) as (own, app):
        orders: RemoteOrders = app.state.remote_orders
        settings = app_settings(world, tmp_path, shared, work_order_url=own)
        assert settings.runs_url() == own
        job_id, handle = _dispatched(app, settings, orders)
        handle.stdin.write(order_for(job_id, world, {}).to_line().encode())
        handle.stdin.flush()
        [dispatch] = wait_for(lambda: world.emulator.workflow_dispatches(REPO), timeout=15)
        inputs = dispatch["inputs"]
        assert inputs["app_url"] == own
        order_url = f"/api/work-orders/{inputs['work_order_id']}"
        dispatch_auth = {"Authorization": f"Bearer {inputs['token']}"}
        assert httpx.get(shared + order_url, headers=dispatch_auth).status_code == 401
        fetched = httpx.get(own + order_url, headers=dispatch_auth)
        assert fetched.status_code == 200 and fetched.json()["work_order"]["job_id"] == job_id
        events_auth = {"Authorization": f"Bearer {fetched.json()['events_token']}"}
        done = {"events": [{"type": "result", "conclusion": "cancelled"}], "exit_code": 0}
        refused = httpx.post(f"{shared}{order_url}/events", json=done, headers=events_auth)
        assert refused.status_code == 401
        assert not handle.remote.ended.is_set()
        answer = httpx.post(f"{own}{order_url}/events", json=done, headers=events_auth)
        assert answer.status_code == 200
        assert handle.wait(timeout=10) == 0
        assert handle.stdout.readline().startswith(b'{"type":"result"')


def test_the_work_order_url_defaults_to_the_public_url(world: World, tmp_path: Path) -> None:
    orders = RemoteOrders()
    try:
        public = app_settings(world, tmp_path, "https://autocoder.example")
        executor = actions_executor(public, orders, lambda: None)  # type: ignore[arg-type]
        assert executor.options.app_url == "https://autocoder.example"
        both = app_settings(
            world, tmp_path, "https://autocoder.example", work_order_url="http://10.0.0.7:8000"
        )
        executor = actions_executor(both, orders, lambda: None)  # type: ignore[arg-type]
        assert executor.options.app_url == "http://10.0.0.7:8000"
    finally:
        orders.stop()


def test_the_actions_executor_needs_a_url_the_runs_reach(world: World, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as neither:
        app_settings(world, tmp_path, None)
    message = str(neither.value)
    assert "AUTOCODER_WORK_ORDER_URL" in message and "AUTOCODER_PUBLIC_URL" in message
    only = app_settings(world, tmp_path, None, work_order_url="http://10.0.0.7:8000")
    assert only.public_url is None and only.runs_url() == "http://10.0.0.7:8000"


def test_options_default_to_the_jobs_repository_and_the_session_workflow() -> None:
    options = ActionsOptions(app_url="https://autocoder.example")
    assert (options.repository, options.workflow, options.ref) == (None, WORKFLOW.name, None)
