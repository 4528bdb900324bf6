"""The Action's settings: Actions defaults, empty inputs, extra allowed commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from action.context import ActionsContext, ActionSetupError, read_context
from action.settings import (
    ActionRunnerSettings,
    ActionSettings,
    bot_login,
    parse_allowed_commands,
    runner_overrides,
)
from runner.repo_config import RepoConfigError


def _context(tmp_path: Path, **env: str) -> ActionsContext:
    event = tmp_path / "event.json"
    event.write_text('{"action": "labeled"}')
    base = {
        "GITHUB_EVENT_NAME": "issues",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo/hello",
        "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
        "GITHUB_SERVER_URL": "https://ghe.example.com",
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "GITHUB_RUN_ID": "7",
    }
    return read_context(base | env)


def test_context_from_the_actions_environment(tmp_path: Path) -> None:
    context = _context(tmp_path, GITHUB_ACTOR="mona")
    assert context.event_name == "issues"
    assert context.payload == {"action": "labeled"}
    assert context.api_url == "https://ghe.example.com/api/v3"
    assert context.actor == "mona"
    assert context.run_url == "https://ghe.example.com/octo/hello/actions/runs/7"


def test_context_errors_say_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ActionSetupError, match="GITHUB_EVENT_NAME"):
        read_context({})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ActionSetupError, match="not JSON"):
        read_context(
            {
                "GITHUB_EVENT_NAME": "issues",
                "GITHUB_EVENT_PATH": str(bad),
                "GITHUB_REPOSITORY": "o/r",
            }
        )


def test_actions_run_fills_api_url_and_directories(tmp_path: Path) -> None:
    context = _context(tmp_path)
    overrides = runner_overrides({}, context)
    assert overrides["github_api_url"] == "https://ghe.example.com/api/v3"
    assert overrides["cache_dir"] == tmp_path / "temp" / "autocoder" / "cache"
    assert overrides["work_dir"] == tmp_path / "temp" / "autocoder" / "work"
    explicit = {"AUTOCODER_GITHUB_API_URL": "https://x/api", "AUTOCODER_CACHE_DIR": "/c"}
    assert set(runner_overrides(explicit, context)) == {"work_dir"}


def test_empty_inputs_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GITHUB_TOKEN",
        "AUTOCODER_GITHUB_APP_ID",
        "AUTOCODER_MAX_TURNS",
        "AUTOCODER_ENGINE",
        "ANTHROPIC_API_KEY",
        "AUTOCODER_TRIGGER_LABEL",
    ):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("AUTOCODER_DRAFT", "false")
    settings = ActionRunnerSettings()
    assert settings.github_token is None
    assert settings.github_app_id is None
    assert settings.max_turns == 50
    assert settings.engine == "claude"
    assert settings.draft is False
    assert ActionSettings().trigger_label == "autocoder"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("cargo", ("cargo",)),
        ("cargo, just\nmake  cargo", ("cargo", "just", "make")),
    ],
)
def test_allowed_commands(text: str, expected: tuple[str, ...]) -> None:
    assert parse_allowed_commands(text) == expected


@pytest.mark.parametrize("bad", ["sudo", "/usr/bin/make", "curl|sh"])
def test_allowed_commands_refuses_what_the_repository_config_refuses(bad: str) -> None:
    with pytest.raises(RepoConfigError, match="AUTOCODER_ALLOWED_COMMANDS"):
        parse_allowed_commands(bad)


def test_bot_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOCODER_BOT_LOGIN", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken-for-tests")
    assert bot_login(ActionSettings(), ActionRunnerSettings()) == "github-actions[bot]"
    monkeypatch.setenv("AUTOCODER_GITHUB_APP_ID", "12")
    assert bot_login(ActionSettings(), ActionRunnerSettings()) is None
    assert bot_login(ActionSettings(bot_login="me[bot]"), ActionRunnerSettings()) == "me[bot]"
