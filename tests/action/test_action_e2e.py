"""End to end: `autocoder action` as a subprocess in an Actions-like environment, against the
GitHub emulator and a scripted OpenAI-compatible model. Nothing is faked inside autocoder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from action.outcome import OUTPUT_KEYS
from tests.action.actions_run import (
    StepRun,
    actions_env,
    closed_port,
    comment_event,
    issue_event,
    openai_settings,
    parse_output_file,
    review_event,
    run_step,
)
from tests.emulator.client import Emulator
from tests.runner.session_harness import (
    check_runs_for,
    command_turn,
    final_turn,
    open_pulls,
    write_turn,
)
from tests.scripted_model.script import Stall, Turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, READER, REPO, World, make_world

GREETING = [
    write_turn("openai", "hello.txt", "Hello, world!\n"),
    final_turn("Added hello.txt with a greeting, as the issue asked."),
]


def _secrets_hidden(run: StepRun, secrets: list[str]) -> None:
    """The secrets given as inputs are masked (`::add-mask::`) before any other line; no other
    line, nor the summary or the outputs file, holds any of them (or any line of a multi-line
    one). Tokens minted later are masked when they are minted."""
    lines = run.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("::add-mask::"))
    masked_first = {line.removeprefix("::add-mask::") for line in lines[:first]}
    parts = {part.strip() for s in secrets for part in s.splitlines() if len(part.strip()) >= 8}
    assert parts <= masked_first, f"not masked first: {sorted(parts - masked_first)}"
    rest = [line for line in lines if not line.startswith("::add-mask::")]
    shown = "\n".join(rest) + run.stderr + run.summary + run.output_text
    for part in parts:
        assert part not in shown, "a secret appears unmasked"


def _no_activity(world: World, number: int) -> None:
    assert open_pulls(world) == []
    assert world.api(f"/repos/{REPO}/issues/{number}/comments") == []
    main_sha = world.git("rev-parse", "main").strip()
    assert check_runs_for(world, main_sha) == []
    assert world.git("branch", "--list", "autocoder/*").strip() == ""


def test_labelled_issue_becomes_pull_request_with_a_personal_token(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    payload = issue_event(world, "labeled", number, sender=MAINTAINER)
    secrets = {
        "GITHUB_TOKEN": world.maintainer_token,
        # given but unused by the openai engine: still masked, never shown
        "ANTHROPIC_API_KEY": "sk-ant-unused-secret-for-action-tests",
        "CLAUDE_CODE_OAUTH_TOKEN": "oauth-unused-secret-for-action-tests",
    }
    with running_model_server("openai", GREETING) as model:
        settings = openai_settings(model.base_url)
        env = actions_env(
            world, tmp_path, "issues", payload, actor=MAINTAINER, **settings, **secrets
        )
        run = run_step(env, tmp_path)
    assert run.exit_code == 0, run.describe()

    pulls = open_pulls(world)
    assert len(pulls) == 1
    pull = pulls[0]
    assert pull["body"].startswith(f"Closes #{number}")
    assert pull["user"]["login"] == MAINTAINER  # the token's owner opened it
    branch = pull["head"]["ref"]
    assert world.git("show", f"{branch}:hello.txt") == "Hello, world!\n"

    outputs = run.outputs
    assert set(outputs) == set(OUTPUT_KEYS)
    assert outputs["pr_url"] == pull["html_url"]
    assert outputs["branch"] == branch
    assert outputs["conclusion"] == "success"
    assert len(outputs["session_id"]) >= 8
    assert outputs["turns"] == "2"
    assert float(outputs["cost_usd"]) >= 0
    assert int(outputs["input_tokens"]) > 0 and int(outputs["output_tokens"]) > 0

    assert pull["html_url"] in run.summary
    assert "Added hello.txt with a greeting" in run.summary
    assert "`hello.txt`" in run.summary
    assert "write_file hello.txt" in run.stdout, "progress is printed as it goes"
    assert f"pull request: {pull['html_url']}" in run.stdout
    assert "::error" not in run.stdout
    _secrets_hidden(run, [*secrets.values(), settings["AUTOCODER_API_KEY"]])


def test_labelled_issue_with_app_credentials(github_emulator: Emulator, tmp_path: Path) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    payload = issue_event(world, "labeled", number, sender=MAINTAINER)
    secrets = {"AUTOCODER_GITHUB_PRIVATE_KEY": world.app.private_key}
    with running_model_server("openai", GREETING) as model:
        settings = openai_settings(model.base_url)
        env = actions_env(
            world,
            tmp_path,
            "issues",
            payload,
            actor=MAINTAINER,
            # both given, as the Action's inputs would be: the App wins
            GITHUB_TOKEN=world.maintainer_token,
            AUTOCODER_GITHUB_APP_ID=str(world.app.id),
            **settings,
            **secrets,
        )
        run = run_step(env, tmp_path)
    assert run.exit_code == 0, run.describe()

    pulls = open_pulls(world)
    assert len(pulls) == 1
    pull = pulls[0]
    assert pull["user"]["login"] == world.app.bot_login, "opened as the App, so CI runs on it"
    runs = [r for r in check_runs_for(world, pull["head"]["sha"]) if r["name"] == "autocoder"]
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "success")]
    assert run.outputs["conclusion"] == "success"
    assert run.outputs["pr_url"] == pull["html_url"]
    assert runs[0]["html_url"] in run.summary
    # the installation tokens minted for git are masked as they appear
    masks = [line for line in run.stdout.splitlines() if line.startswith("::add-mask::")]
    assert any(m.startswith("::add-mask::ghs_") for m in masks), masks
    _secrets_hidden(
        run, [world.app.private_key, world.maintainer_token, settings["AUTOCODER_API_KEY"]]
    )


def test_slash_command_comment_runs_a_session(github_emulator: Emulator, tmp_path: Path) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    payload = comment_event(world, number, "/autocoder run", sender=MAINTAINER)
    with running_model_server("openai", GREETING) as model:
        env = actions_env(
            world,
            tmp_path,
            "issue_comment",
            payload,
            actor=MAINTAINER,
            GITHUB_TOKEN=world.maintainer_token,
            **openai_settings(model.base_url),
        )
        run = run_step(env, tmp_path)
    assert run.exit_code == 0, run.describe()
    assert run.outputs["conclusion"] == "success"
    assert len(open_pulls(world)) == 1


def _actions_token(world: World) -> str:
    """What GITHUB_TOKEN is in a real run: an installation token of the `github-actions` App."""
    emulator = world.emulator
    actions_app = emulator.register_app("github-actions")
    installation = emulator.install(actions_app.id, REPO)
    return emulator.installation_token(actions_app, installation)


@pytest.mark.parametrize(
    ("event", "sender", "label", "why"),
    [
        pytest.param("unlabeled", MAINTAINER, "autocoder", "removed the label", id="unlabeled"),
        pytest.param("labeled", MAINTAINER, "bug", "not the trigger label", id="other-label"),
        pytest.param("labeled", READER, "autocoder", "has read access", id="no-write-access"),
    ],
)
def test_events_that_ask_for_nothing_do_nothing_and_say_why(
    event: str, sender: str, label: str, why: str, github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    payload = issue_event(world, event, number, label=label, sender=sender)
    with running_model_server("openai", GREETING) as model:
        env = actions_env(
            world,
            tmp_path,
            "issues",
            payload,
            actor=sender,
            GITHUB_TOKEN=_actions_token(world),
            **openai_settings(model.base_url),
        )
        run = run_step(env, tmp_path)
        assert model.turns_served == 0
    assert run.exit_code == 0, run.describe()
    assert "Nothing to do" in run.summary
    assert why in run.summary, run.summary
    assert run.outputs == {
        "pr_url": "",
        "branch": "",
        "conclusion": "skipped",
        "session_id": "",
        "cost_usd": "",
        "input_tokens": "",
        "output_tokens": "",
        "turns": "",
    }
    assert "::error" not in run.stdout
    _no_activity(world, number)


def test_model_down_fails_before_any_write_with_one_error_annotation(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    payload = issue_event(world, "labeled", number, sender=MAINTAINER)
    token = _actions_token(world)
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    env = actions_env(
        world,
        tmp_path,
        "issues",
        payload,
        actor=MAINTAINER,
        GITHUB_TOKEN=token,
        **openai_settings(dead),
    )
    run = run_step(env, tmp_path)
    assert run.exit_code != 0, run.describe()

    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, run.stdout
    assert "127.0.0.1" in errors[0], "says which endpoint failed"
    assert "What to do" in errors[0] and "base_url" in errors[0]
    assert "failed" in run.summary.lower() or "❌" in run.summary
    assert "What to do" in run.summary
    assert run.outputs["conclusion"] == "failure"

    # The preflight finds the dead endpoint before anything is written to GitHub: no check run,
    # no public "failed" comment on the issue, no branch — only the job's own error and summary.
    main_sha = world.git("rev-parse", "main").strip()
    assert [r for r in check_runs_for(world, main_sha) if r["name"] == "autocoder"] == []
    assert open_pulls(world) == []
    comments: list[dict[str, Any]] = world.api(f"/repos/{REPO}/issues/{number}/comments")
    assert comments == []
    _secrets_hidden(run, [token, "sk-model-key-for-action-tests-1234"])


def test_not_an_actions_run_fails_with_what_to_set(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    done = subprocess.run(
        [sys.executable, "-m", "autocoder", "action"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout.startswith("autocoder: error: ")  # no workflow commands outside Actions
    assert "GITHUB_EVENT_NAME" in done.stdout


def test_cancelling_the_job_keeps_the_work_and_ends_cancelled(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    """The runner cancels a step with SIGINT: the work so far is committed and pushed, the check
    run ends `cancelled`, and the step fails."""
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    payload = issue_event(world, "labeled", number, sender=MAINTAINER)
    turns = [
        write_turn("openai", "hello.txt", "Hello, world!\n"),
        Turn(stall=Stall(seconds=60)),
        final_turn("never reached"),
    ]
    with running_model_server("openai", turns) as model:
        env = actions_env(
            world,
            tmp_path,
            "issues",
            payload,
            actor=MAINTAINER,
            GITHUB_TOKEN=_actions_token(world),
            **openai_settings(model.base_url),
        )
        log = tmp_path / "stdout.txt"
        with log.open("w") as out:
            step = subprocess.Popen(
                [sys.executable, "-m", "autocoder", "action"],
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 60
            while "write_file hello.txt" not in log.read_text():
                assert step.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            time.sleep(1.0)  # the file is written; the next model request is held open
            step.send_signal(signal.SIGINT)
            _, stderr = step.communicate(timeout=60)
    stdout = log.read_text()
    assert step.returncode == 1, stdout + stderr
    assert "received SIGINT" in stdout
    outputs = parse_output_file((tmp_path / "output.txt").read_text())
    assert outputs["conclusion"] == "cancelled"
    branch = outputs["branch"]
    assert world.git("show", f"{branch}:hello.txt") == "Hello, world!\n"
    head = world.git("rev-parse", branch).strip()
    runs = [r for r in check_runs_for(world, head) if r["name"] == "autocoder"]
    assert [(r["status"], r["conclusion"]) for r in runs] == [("completed", "cancelled")]
    assert any(line.startswith("::error") for line in stdout.splitlines())


def test_allowed_commands_input_widens_the_allowlist(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Factor twelve", "Run factor on 12 and write the result.")
    payload = issue_event(world, "labeled", number, sender=MAINTAINER)
    turns = [
        command_turn("openai", "factor 12"),
        command_turn("openai", "nproc"),
        write_turn("openai", "factors.txt", "2 2 3\n"),
        final_turn("Wrote the factors of 12."),
    ]
    with running_model_server("openai", turns) as model:
        env = actions_env(
            world,
            tmp_path,
            "issues",
            payload,
            actor=MAINTAINER,
            GITHUB_TOKEN=world.maintainer_token,
            AUTOCODER_ALLOWED_COMMANDS="factor, just",
            **openai_settings(model.base_url),
        )
        run = run_step(env, tmp_path)
    assert run.exit_code == 0, run.describe()
    rows = {line.split("|")[1].strip(): line for line in run.summary.splitlines() if "|" in line}
    assert "exit 0" in rows["`factor 12`"], run.summary
    assert "refused" in rows["`nproc`"], run.summary


def test_review_on_autocoders_pull_request_runs_a_follow_up(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    app = {
        "AUTOCODER_GITHUB_APP_ID": str(world.app.id),
        "AUTOCODER_GITHUB_PRIVATE_KEY": world.app.private_key,
    }
    with running_model_server("openai", GREETING) as model:
        env = actions_env(
            world,
            tmp_path / "first",
            "issues",
            issue_event(world, "labeled", number, sender=MAINTAINER),
            actor=MAINTAINER,
            **app,
            **openai_settings(model.base_url),
        )
        first = run_step(env, tmp_path / "first")
    assert first.exit_code == 0, first.describe()
    (pull,) = open_pulls(world)

    review = world.emulator.act_as(MAINTAINER).review(
        REPO, pull["number"], "REQUEST_CHANGES", "Please say hello to Mona too."
    )
    turns = [
        write_turn("openai", "hello.txt", "Hello, world! Hello, Mona!\n"),
        final_turn("Greeted Mona as the review asked."),
    ]
    with running_model_server("openai", turns) as model:
        env = actions_env(
            world,
            tmp_path / "second",
            "pull_request_review",
            review_event(world, pull["number"], review, sender=MAINTAINER),
            actor=MAINTAINER,
            **app,
            **openai_settings(model.base_url),
        )
        second = run_step(env, tmp_path / "second")
        prompt = str(model.turn_requests[0].body)
    assert second.exit_code == 0, second.describe()
    assert "Please say hello to Mona too." in prompt
    assert second.outputs["pr_url"] == pull["html_url"]
    assert second.outputs["branch"] == pull["head"]["ref"]
    assert len(open_pulls(world)) == 1
    assert world.git("show", f"{pull['head']['ref']}:hello.txt") == "Hello, world! Hello, Mona!\n"
    comments = world.api(f"/repos/{REPO}/issues/{pull['number']}/comments")
    assert any("Greeted Mona" in c["body"] for c in comments)


@pytest.mark.slow
def test_claude_engine_in_the_action(github_emulator: Emulator, tmp_path: Path) -> None:
    """The default engine: the real claude-agent-sdk and Claude Code CLI, against a scripted
    Anthropic server."""
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    turns = [
        write_turn("claude", "hello.txt", "Hello, world!\n"),
        final_turn("Added hello.txt with a greeting."),
    ]
    key = "sk-ant-secret-for-action-tests-5678"
    with running_model_server("anthropic", turns) as model:
        env = actions_env(
            world,
            tmp_path,
            "issues",
            issue_event(world, "labeled", number, sender=MAINTAINER),
            actor=MAINTAINER,
            GITHUB_TOKEN=_actions_token(world),
            ANTHROPIC_API_KEY=key,
            ANTHROPIC_BASE_URL=model.base_url,
            AUTOCODER_MAX_TURNS="10",
        )
        run = run_step(env, tmp_path)
    assert run.exit_code == 0, run.describe()
    (pull,) = open_pulls(world)
    assert run.outputs["pr_url"] == pull["html_url"]
    assert world.git("show", f"{pull['head']['ref']}:hello.txt") == "Hello, world!\n"
    _secrets_hidden(run, [key, env["GITHUB_TOKEN"]])
