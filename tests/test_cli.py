"""The `autocoder` command as a user runs it: a real subprocess of the installed console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autocoder import __version__
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
