"""Preflight: `autocoder run` checks the engine's credentials (and that an OpenAI-compatible
endpoint answers) before anything is written to GitHub, and says what to set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.preflight import credential_problem, endpoint_problem
from runner.settings import RunnerSettings
from tests.app.webhook_harness import free_port
from tests.emulator.client import Emulator
from tests.scripted_model.server import running_model_server
from tests.world import REPO, World, make_world

WRITES = ("POST", "PATCH", "PUT", "DELETE")


@pytest.fixture
def world(github_emulator: Emulator) -> World:
    return make_world(github_emulator)


def run_env(world: World, tmp_path: Path, **extra: str) -> dict[str, str]:
    prefixes = ("AUTOCODER_", "ANTHROPIC_", "CLAUDE_CODE_", "OPENAI_", "GITHUB_")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(prefixes)},
        "HOME": str(tmp_path / "home"),
        "GITHUB_TOKEN": world.maintainer_token,
        "AUTOCODER_GITHUB_API_URL": world.emulator.api_url,
        "AUTOCODER_CACHE_DIR": str(tmp_path / "cache"),
        **extra,
    }


def autocoder_run(env: dict[str, str], target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autocoder", "run", target],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({}, "ANTHROPIC_API_KEY"),
        (
            {"AUTOCODER_ENGINE": "openai", "AUTOCODER_BASE_URL": "http://127.0.0.1:{port}/v1"},
            "AUTOCODER_BASE_URL",
        ),
    ],
)
def test_run_without_a_model_writes_nothing_to_github(
    world: World, tmp_path: Path, extra: dict[str, str], says: str
) -> None:
    number = world.open_issue("Add a farewell", "Please add farewell().")
    world.emulator.clear_requests()
    extra = {k: v.format(port=free_port()) for k, v in extra.items()}
    done = autocoder_run(run_env(world, tmp_path, **extra), f"{REPO}#{number}")
    assert done.returncode != 0
    assert says in done.stderr
    writes = [r for r in world.emulator.requests() if r.method in WRITES]
    assert writes == []
    assert world.api(f"/repos/{REPO}/issues/{number}/comments") == []


def test_claude_credentials_from_settings_or_environment() -> None:
    bare = RunnerSettings.model_validate({"engine": "claude"})
    assert credential_problem(bare, {}) is not None
    assert credential_problem(bare, {"ANTHROPIC_AUTH_TOKEN": "t"}) is None
    assert credential_problem(bare, {"CLAUDE_CODE_OAUTH_TOKEN": "t"}) is None
    assert credential_problem(bare.model_copy(update={"engine": "openai"}), {}) is None


def test_openai_endpoint_that_answers_passes_and_a_dead_one_is_named() -> None:
    with running_model_server("openai", []) as model:
        alive = RunnerSettings.model_validate({"engine": "openai", "base_url": model.base_url})
        assert endpoint_problem(alive) is None
    dead_url = f"http://127.0.0.1:{free_port()}/v1"
    dead = RunnerSettings.model_validate({"engine": "openai", "base_url": dead_url})
    problem = endpoint_problem(dead, timeout_s=2)
    assert problem is not None and dead_url in problem and "AUTOCODER_BASE_URL" in problem
