"""Run a real session against the emulator and a scripted model, as `autocoder run` would.

Everything is real but GitHub and the model: the bootstrap, the GitHub client (PyGithub), git
over smart HTTP, the engines, the policy and the sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from runner.bootstrap import github_credentials, make_engine, session_deps
from runner.github.client import GitHubClient
from runner.session import run_session
from runner.settings import RunnerSettings
from runner.task import SessionResult
from runner.task_loader import load_issue_task
from tests.scripted_model.script import Turn, text_turn, tool_turn
from tests.world import MAINTAINER, REPO, World

# Parametrize a session test over both engines; the Claude one runs the CLI, so it is slow.
ENGINES = [
    pytest.param("openai", id="openai"),
    pytest.param("claude", id="claude", marks=pytest.mark.slow),
]


def write_turn(engine: str, path: str, content: str, *, text: str | None = None) -> Turn:
    """A model turn that writes `content` to `path` (relative to the worktree)."""
    if engine == "openai":
        return tool_turn("write_file", {"path": path, "content": content}, text=text)
    # Claude Code's Write wants an absolute path, unknown to a script; its Bash runs in the
    # worktree, so a redirect writes the file there.
    quoted = content.replace("'", "'\\''")
    return tool_turn("Bash", {"command": f"printf '%s' '{quoted}' > {path}"}, text=text)


def command_turn(engine: str, command: str) -> Turn:
    if engine == "openai":
        return tool_turn("run_command", {"command": command})
    return tool_turn("Bash", {"command": command})


def model_kind(engine: str) -> Literal["openai", "anthropic"]:
    """Which scripted server an engine talks to."""
    return "openai" if engine == "openai" else "anthropic"


def final_turn(text: str) -> Turn:
    return text_turn(text)


@dataclass
class SessionRun:
    result: SessionResult
    lines: list[str]


def configure(
    monkeypatch: pytest.MonkeyPatch,
    world: World,
    engine: str,
    model_url: str,
    tmp_path: Path,
    **extra: str,
) -> RunnerSettings:
    env = world.runner_env(tmp_path / "cache", AUTOCODER_ENGINE=engine, **extra)
    if engine == "openai":
        env |= {
            "AUTOCODER_BASE_URL": model_url,
            "AUTOCODER_MODEL": "scripted",
            "AUTOCODER_API_KEY": "sk-model-key-for-tests",
        }
    else:
        env |= {
            "ANTHROPIC_BASE_URL": model_url,
            "ANTHROPIC_API_KEY": "sk-ant-key-for-tests",
        }
    env.setdefault("AUTOCODER_MAX_TURNS", "10")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return RunnerSettings()


def run_once(
    settings: RunnerSettings, issue_number: int, *, triggered_by: str = MAINTAINER
) -> SessionRun:
    lines: list[str] = []
    credentials = github_credentials(settings, REPO)
    with GitHubClient(credentials, seconds_between_writes=0) as github:
        task = load_issue_task(
            github, REPO, issue_number, triggered_by=triggered_by, limits=settings.limits()
        )
        deps = session_deps(settings, github, credentials, make_engine(settings), echo=lines.append)
        deps.progress_interval_s = 0.5
        result = asyncio.run(run_session(task, deps))
    return SessionRun(result, lines)


def open_pulls(world: World) -> list[dict[str, Any]]:
    pulls: list[dict[str, Any]] = world.api(f"/repos/{REPO}/pulls?state=all")
    return pulls


def check_runs_for(world: World, sha: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = world.api(f"/repos/{REPO}/commits/{sha}/check-runs")["check_runs"]
    return runs


def script(*turns: Turn) -> Sequence[Turn]:
    return list(turns)
