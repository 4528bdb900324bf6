"""The `autocoder` command as a user runs it: a real subprocess of the installed console script."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from autocoder import __version__
from tests.action.actions_run import closed_port
from tests.chat.fakes import autocoder_exe, chat_env
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import REPO, make_world


def autocoder(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
    exe = shutil.which("autocoder", path=str(Path(sys.executable).parent)) or "autocoder"
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def _clean_env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOCODER_", "GITHUB_"))}
    keep.pop("ANTHROPIC_API_KEY", None)
    keep.update(extra)
    return keep


def test_version_and_help() -> None:
    version = autocoder("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"autocoder, version {__version__}"
    helped = autocoder("--help")
    assert helped.returncode == 0
    assert "label a GitHub issue, get a pull request" in helped.stdout
    assert "  run " in helped.stdout


def test_run_rejects_a_malformed_target_and_bad_settings() -> None:
    bad = autocoder("run", "not-a-target", env=_clean_env())
    assert bad.returncode == 2
    assert "is not OWNER/REPO#N" in bad.stderr
    broken = autocoder("run", "o/r#1", env=_clean_env(AUTOCODER_MAX_TURNS="lots"))
    assert broken.returncode == 1
    assert "AUTOCODER_MAX_TURNS" in broken.stderr
    missing = autocoder("run", "o/r#1", env=_clean_env())
    assert missing.returncode == 1
    assert "set GITHUB_TOKEN" in missing.stderr


def test_run_opens_a_pull_request_and_prints_its_url(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt.")
    turns = [write_turn("openai", "hello.txt", "Hello!\n"), final_turn("Added hello.txt.")]
    with running_model_server("openai", turns) as model:
        env = _clean_env(
            **world.runner_env(tmp_path / "cache"),
            AUTOCODER_ENGINE="openai",
            AUTOCODER_BASE_URL=model.base_url,
            AUTOCODER_MODEL="scripted",
        )
        done = autocoder("run", f"{REPO}#{number}", "--max-turns", "5", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    pull = world.api(f"/repos/{REPO}/pulls")[0]
    lines = done.stdout.splitlines()
    assert f"pull request: {pull['html_url']}" == lines[-1]
    assert "conclusion: success" in lines
    assert any("write_file" in line for line in lines), "live progress shows tool calls"


@pytest.mark.parametrize("token_env", ["GITHUB_TOKEN"])
def test_run_with_a_personal_token(
    github_emulator: Emulator, tmp_path: Path, token_env: str
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt.")
    turns = [write_turn("openai", "hello.txt", "Hello!\n"), final_turn("Added hello.txt.")]
    with running_model_server("openai", turns) as model:
        env = _clean_env(
            AUTOCODER_GITHUB_API_URL=github_emulator.api_url,
            AUTOCODER_CACHE_DIR=str(tmp_path / "cache"),
            AUTOCODER_ENGINE="openai",
            AUTOCODER_BASE_URL=model.base_url,
            AUTOCODER_MODEL="scripted",
            **{token_env: world.maintainer_token},
        )
        github_emulator.clear_requests()
        done = autocoder("run", f"{REPO}#{number}", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert world.maintainer_token not in done.stdout + done.stderr
    assert len(world.api(f"/repos/{REPO}/pulls")) == 1
    # GitHub gives check runs to Apps only: none is attempted, and the reason is said once,
    # without blaming the token's permissions.
    posts = [r.path for r in github_emulator.requests() if r.method == "POST"]
    assert not [path for path in posts if path.endswith("/check-runs")], posts
    output = done.stdout + done.stderr
    assert output.count("only a GitHub App create check runs") == 1, output
    assert "permission" not in output.lower(), output


# -- issue #10: a polished command line ------------------------------------------------------


def _commands() -> dict[str, click.Command]:
    from autocoder.cli import _register, cli

    _register()
    return dict(cli.commands)


@pytest.mark.parametrize("name", ["run", "chat", "sync", "action"])
def test_every_option_says_its_env_name_and_default(name: str) -> None:
    command = _commands()[name]
    options = [p for p in command.params if isinstance(p, click.Option)]
    for option in options:
        if option.name in ("help", "verbose"):
            continue
        assert option.help and "default:" in option.help, (name, option.name, option.help)
    helped = CliRunner().invoke(command, ["--help"], prog_name=f"autocoder {name}")
    assert helped.exit_code == 0
    if name == "run":
        for env in (
            "AUTOCODER_ENGINE",
            "AUTOCODER_MODEL",
            "AUTOCODER_MAX_TURNS",
            "AUTOCODER_MAX_COST_USD",
            "AUTOCODER_TIMEOUT_MINUTES",
            "AUTOCODER_GITHUB_API_URL",
            "AUTOCODER_DRAFT",
        ):
            assert env in " ".join(helped.output.split()), env


def test_engine_is_one_option_for_run_and_chat() -> None:
    commands = _commands()
    run_engine, chat_engine = (
        next(p for p in commands[n].params if p.name == "engine") for n in ("run", "chat")
    )
    assert type(run_engine.type) is type(chat_engine.type)
    assert isinstance(run_engine, click.Option) and isinstance(chat_engine, click.Option)
    assert run_engine.envvar == chat_engine.envvar == "AUTOCODER_ENGINE"
    refused = CliRunner().invoke(commands["run"], ["--engine", "gpt", "o/r#1"])
    assert refused.exit_code == 2 and "'gpt' is not one of claude, openai" in refused.output


def test_chat_reads_the_engine_from_the_environment(tmp_path: Path) -> None:
    env = chat_env(tmp_path, AUTOCODER_ENGINE="nosuchengine")
    done = subprocess.run(
        [autocoder_exe(), "chat", "hello"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "no engine named 'nosuchengine'" in done.stderr


def test_verbose_is_accepted_after_the_subcommand_too() -> None:
    before = autocoder("-v", "run", "o/r#1", env=_clean_env())
    after = autocoder("run", "o/r#1", "-v", env=_clean_env())
    for done in (before, after):
        assert done.returncode == 1, done.stderr
        assert "No such option" not in done.stderr
        assert "set GITHUB_TOKEN" in done.stderr


def test_library_info_logs_stay_out_of_progress_unless_asked() -> None:
    from autocoder.cli import cli

    _commands()
    for args, library_info, own_debug in (
        ([], False, False),
        (["-v"], True, True),
        (["-vv"], True, True),
    ):
        logging.getLogger().setLevel(logging.NOTSET)
        CliRunner().invoke(cli, ["sync", *args, "not a repository"])
        for library in ("alembic", "httpx", "urllib3"):
            assert logging.getLogger(library).isEnabledFor(logging.INFO) is library_info, args
        assert logging.getLogger("runner.session").isEnabledFor(logging.INFO)
        assert logging.getLogger("app.worker").isEnabledFor(logging.DEBUG) is own_debug
    assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)  # -vv: everything


def test_run_accepts_an_issue_url_and_a_ghes_url_points_at_that_host() -> None:
    url = autocoder("run", "https://github.com/o/r/issues/5", env=_clean_env())
    assert url.returncode == 1 and "set GITHUB_TOKEN" in url.stderr, url.stderr
    pull = autocoder("run", "https://github.com/o/r/pull/5", env=_clean_env())
    assert pull.returncode == 2 and "is a pull request" in pull.stderr
    port = closed_port()
    with running_model_server("openai", []) as model:
        env = _clean_env(
            GITHUB_TOKEN="ghp_not-a-real-token",
            AUTOCODER_ENGINE="openai",
            AUTOCODER_BASE_URL=model.base_url,
            AUTOCODER_MODEL="scripted",
        )
        started = time.monotonic()
        ghes = autocoder("run", f"http://127.0.0.1:{port}/o/r/issues/5", env=env)
    assert ghes.returncode == 1
    assert time.monotonic() - started < 20
    assert f"could not talk to GitHub at http://127.0.0.1:{port}/api/v3/" in ghes.stderr
    assert "connection refused" in ghes.stderr
    assert "Retrying" not in ghes.stderr and "urllib3" not in ghes.stderr
    assert "ghp_not-a-real-token" not in ghes.stdout + ghes.stderr


def test_chat_with_piped_input_exits_non_zero_after_a_model_error(tmp_path: Path) -> None:
    from tests.scripted_model import Fault, Turn

    with running_model_server("openai", [Turn(text="x", fault=Fault(status=400))]) as model:
        env = chat_env(tmp_path, AUTOCODER_BASE_URL=model.base_url, AUTOCODER_MODEL="m")
        done = subprocess.run(
            [autocoder_exe(), "chat"],
            input="hello\n",
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
    assert "400" in done.stdout + done.stderr
    assert done.returncode == 1
