"""One settings model for `autocoder serve`: `.env` read strictly and merged under the
environment, every setting validated at start-up, and the same values handed to every session
(local process and docker alike); the job queue honours AUTOCODER_MAX_ATTEMPTS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.config import ServeConfig
from app.env_file import EnvFileError, check_env_text
from app.executors.base import LaunchSpec
from app.executors.docker import DockerOptions, docker_run_command
from app.queue import store
from app.worker.env import engine_env
from app.worker.orders import OrderMaker
from autocoder.cli import _register, cli
from runner.work_order import WorkOrder
from tests.app.queue_harness import add_job, open_db

MODEL_ENV = (
    "ANTHROPIC_API_KEY=sk-ant-from-dotenv\n"
    "ANTHROPIC_BASE_URL=http://127.0.0.1:9/anthropic\n"
    "AUTOCODER_BASE_URL=http://127.0.0.1:9/v1\n"
    'AUTOCODER_API_KEY="sk-from-dotenv"\n'
    "export AUTOCODER_MAX_TURNS=7\n"
    "# a comment\n"
    "AUTOCODER_MAX_ATTEMPTS=5\n"
    "AUTOCODER_WEBHOOK_SECRET=only-for-the-server\n"
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("AUTOCODER_", "ANTHROPIC_", "CLAUDE_CODE_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


def test_dotenv_values_reach_the_session_in_its_work_order(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(MODEL_ENV)
    config = ServeConfig.load({"AUTOCODER_MAX_TURNS": "9"}, Path(".env"))
    assert config.runner.max_turns == 9  # the environment wins over .env
    assert config.worker.max_attempts == 5
    database = open_db(tmp_path)
    with database.sessions() as db:
        job = add_job(db, 3)
        assert job is not None
    order = OrderMaker(config.runner, lambda job: "ghs_installation").make(job, "s1")
    # What the session process validates from its stdin is what the server validated.
    seen = WorkOrder.from_line(order.to_line()).settings
    assert (seen.max_turns, seen.base_url) == (9, "http://127.0.0.1:9/v1")
    assert seen.api_key is not None and seen.api_key.get_secret_value() == "sk-from-dotenv"
    assert seen.anthropic_api_key is not None
    assert seen.anthropic_api_key.get_secret_value() == "sk-ant-from-dotenv"
    assert "only-for-the-server" not in order.to_line()
    # The session's environment holds only what the engine's own CLI reads; never a setting
    # of the server's, never a secret of the server's.
    env = engine_env(config.environ)
    assert env == {
        "ANTHROPIC_API_KEY": "sk-ant-from-dotenv",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9/anthropic",
    }
    # The docker executor names each variable; the value stays in the client's environment.
    spec = LaunchSpec(job_id=1, attempt=1, worker_id="w", env=env)
    command = docker_run_command(spec, DockerOptions())
    assert command[command.index("ANTHROPIC_API_KEY") - 1] == "--env"
    assert "sk-ant-from-dotenv" not in " ".join(command)


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("AUTOCODER_ENGINE=openai\nthis is not a setting\n", 2, "not NAME=value"),
        ("AUTOCODER_ENGINE=openai\nAUTOCODER_MAX_TURN=3\n", 2, "did you mean AUTOCODER_MAX_TURNS"),
        ("# hi\n\nAUTOCODER_FROBNICATE=1\n", 3, "not an autocoder setting"),
        ('AUTOCODER_MODEL="unterminated\n', 1, "not NAME=value"),
        ("AUTOCODER_MODEL\n", 1, "no '=value'"),
    ],
)
def test_a_broken_env_file_is_named_with_its_line(text: str, line: int, says: str) -> None:
    from app.config import known_env_names

    [problem] = check_env_text(text, known_env_names())
    assert problem.line == line
    assert says in problem.message


def test_other_names_in_env_file_are_left_alone() -> None:
    from app.config import known_env_names

    text = "PATH_EXTRA=1\nHTTPS_PROXY=http://proxy:3128\nANTHROPIC_API_KEY=x\n"
    assert check_env_text(text, known_env_names()) == []


def test_serve_refuses_to_start_with_a_broken_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AUTOCODER_ENGINE=openai\nAUTOCODER_CONCURENCY=2\n")
    _register()
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code != 0
    assert f"{tmp_path / '.env'}:2" in result.output
    assert "AUTOCODER_CONCURENCY" in result.output and "AUTOCODER_CONCURRENCY" in result.output


def test_a_malformed_session_setting_in_env_file_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AUTOCODER_MAX_TURNS=many\n")
    with pytest.raises(Exception) as caught:
        ServeConfig.load({}, Path(".env"))
    assert "max_turns" in str(caught.value)
    _register()
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code != 0 and "AUTOCODER_MAX_TURNS" in result.output


def test_env_file_error_carries_path_and_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "custom.env"
    path.write_text("AUTOCODER_X=1\nbroken line\n")
    with pytest.raises(EnvFileError) as caught:
        ServeConfig.load({}, path)
    assert [p.line for p in caught.value.problems] == [1, 2]
    assert str(path) in str(caught.value)


def test_summary_masks_secrets_and_says_where_each_value_came_from(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(MODEL_ENV)
    config = ServeConfig.load(
        {"AUTOCODER_DATABASE_URL": "postgresql+psycopg://me:hunter22@db/autocoder"}, Path(".env")
    )
    text = "\n".join(config.summary())
    for secret in ("sk-ant-from-dotenv", "sk-from-dotenv", "only-for-the-server", "hunter22"):
        assert secret not in text
    assert "ANTHROPIC_API_KEY=**** (.env)" in text
    assert "AUTOCODER_MAX_TURNS=7 (.env)" in text
    assert "AUTOCODER_DATABASE_URL=postgresql+psycopg://me:***@db/autocoder (environment)" in text
    assert "AUTOCODER_ENGINE=claude (default)" in text


def test_the_queue_gives_a_job_the_servers_max_attempts(tmp_path: Path) -> None:
    database = open_db(tmp_path)
    with database.sessions() as db:
        made = add_job(db, 1, max_attempts=3)
        assert made is not None
        job_id = made.id
    for attempt in range(1, 6):
        with database.sessions() as db:
            claimed = store.claim_next(
                db, "w", lease_s=60, max_per_installation=None, max_attempts=5
            )
            assert claimed is not None and claimed.max_attempts == 5
            state = store.fail(
                db, job_id, "w", error="boom", transient=True, backoff_base_s=0, backoff_cap_s=0
            )
        assert state == ("failed" if attempt == 5 else "queued"), attempt
