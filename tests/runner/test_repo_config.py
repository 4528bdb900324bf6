"""`.github/autocoder.yml`: defaults, a full file, and errors that say where and what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.policy import CommandPolicy, judge_command
from runner.repo_config import RepoConfig, RepoConfigError, load_repo_config, parse_repo_config

FULL = """\
# autocoder settings for this repository
allowed_commands: [just, cargo-nextest]
setup_commands:
  - pip install -e .[dev]
  - npm ci
test_command: pytest -q
instructions: |
  Keep the public API stable.
  Write tests first.
network: true
max_turns: 60
max_cost_usd: 5
timeout_minutes: 45.5
"""


def write_config(worktree: Path, text: str) -> None:
    (worktree / ".github").mkdir(parents=True, exist_ok=True)
    (worktree / ".github" / "autocoder.yml").write_text(text, encoding="utf-8")


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    config = load_repo_config(tmp_path)
    assert config == RepoConfig()
    assert config.network is False and config.allowed_commands == ()
    assert config.max_turns is None and config.test_command is None


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, "# nothing yet\n")
    assert load_repo_config(tmp_path) == RepoConfig()


def test_full_file(tmp_path: Path) -> None:
    write_config(tmp_path, FULL)
    assert load_repo_config(tmp_path) == RepoConfig(
        allowed_commands=("just", "cargo-nextest"),
        setup_commands=("pip install -e .[dev]", "npm ci"),
        test_command="pytest -q",
        instructions="Keep the public API stable.\nWrite tests first.",
        network=True,
        max_turns=60,
        max_cost_usd=5.0,
        timeout_minutes=45.5,
    )


def test_allowed_commands_extend_the_policy(tmp_path: Path) -> None:
    write_config(tmp_path, "allowed_commands: [just]\n")
    config = load_repo_config(tmp_path)
    policy = CommandPolicy.default(tmp_path, config.allowed_commands)
    assert judge_command("just test", policy).allowed
    assert not judge_command("git push", policy).allowed


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("network: [true\n", 2, "not valid YAML"),
        ("network: true\n  bad: indent\n", 2, "not valid YAML"),
        ("- a\n- b\n", 1, "must be a mapping of settings"),
        ("network: true\ntest_comand: pytest\n", 2, "unknown setting 'test_comand'"),
        ("test_comand: pytest\n", 1, "did you mean 'test_command'?"),
        ("network: 'yes'\n", 1, "`network` must be true or false"),
        ("max_turns: 0\n", 1, "`max_turns` must be a whole number above 0"),
        ("max_turns: 2.5\n", 1, "whole number"),
        ("max_cost_usd: cheap\n", 1, "`max_cost_usd` must be a number above 0"),
        ("timeout_minutes: true\n", 1, "must be a number"),
        ("test_command:\n  - pytest\n", 2, "`test_command` must be a string"),
        ("setup_commands: [1, 2]\n", 1, "must be a list of non-empty strings"),
        ("allowed_commands:\n  - just\n  - ./run.sh\n", 2, "is not a command name"),
        ("allowed_commands: [sudo]\n", 1, "'sudo' cannot be allowed"),
        ("allowed_commands: [eval]\n", 1, "cannot be allowed"),
        ("network: true\nnetwork: false\n", 2, "'network' is set twice"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    write_config(tmp_path, text)
    with pytest.raises(RepoConfigError) as raised:
        load_repo_config(tmp_path)
    message = str(raised.value)
    assert message.startswith(f".github/autocoder.yml, line {line}: "), message
    assert fragment in message


def test_undecodable_file(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "autocoder.yml").write_bytes(b"network: \xff\xfe\n")
    with pytest.raises(RepoConfigError, match=r"^\.github/autocoder\.yml: cannot be read"):
        load_repo_config(tmp_path)


def test_single_string_lists_are_accepted() -> None:
    config = parse_repo_config("setup_commands: make deps\nallowed_commands: just\n")
    assert config.setup_commands == ("make deps",)
    assert config.allowed_commands == ("just",)


def test_null_values_mean_defaults() -> None:
    assert parse_repo_config("test_command:\nmax_turns: ~\nsetup_commands:\n") == RepoConfig()
