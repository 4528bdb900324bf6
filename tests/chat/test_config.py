"""Config precedence (defaults < files < environment < flags) and messages for bad files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.chat.config import (
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    LLMConfig,
    load_config,
    parse_config_text,
)
from runner.chat.errors import ConfigError
from tests.chat.fakes import autocoder_exe, chat_env


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    return home, work


def load(dirs: tuple[Path, Path], env: dict[str, str] | None = None, **flags: str) -> LLMConfig:
    home, work = dirs
    return load_config(home=home, working_dir=work, environ=env or {}, flags=flags)


def test_defaults_are_ollama(dirs: tuple[Path, Path]) -> None:
    config = load(dirs)
    assert (config.base_url, config.model, config.api_key) == (DEFAULT_BASE_URL, "llama3.2", None)
    assert config.base_url == "http://localhost:11434/v1" and DEFAULT_MODEL == "llama3.2"
    assert config.source_of("base_url") == "the default"


def test_file_then_environment_then_flag(dirs: tuple[Path, Path]) -> None:
    home, work = dirs
    (home / ".autocoder.yaml").write_text(
        "llm:\n"
        "  base_url: http://home.example/v1\n"
        "  model: home-model\n"
        "  api_key: home-key\n"
        "  timeout: 30\n"
        "  extra_params:\n    temperature: 0.7\n    top_p: 0.9\n"
    )
    (work / ".autocoder.yaml").write_text(
        "llm:\n  model: project-model\n  extra_params:\n    temperature: 0.1\n"
    )
    files_only = load(dirs)
    assert files_only.base_url == "http://home.example/v1"
    assert files_only.model == "project-model"  # the project file overrides the home file
    assert files_only.api_key == "home-key"
    assert files_only.timeout == 30.0
    assert files_only.extra_params == {"temperature": 0.1, "top_p": 0.9}  # merged key by key
    assert files_only.source_of("model") == f"{work / '.autocoder.yaml'} line 2"
    assert files_only.source_of("base_url") == f"{home / '.autocoder.yaml'} line 2"

    env = {"AUTOCODER_MODEL": "env-model", "AUTOCODER_BASE_URL": "http://env.example/v1/"}
    with_env = load(dirs, env)
    assert (with_env.base_url, with_env.model) == ("http://env.example/v1", "env-model")
    assert with_env.source_of("model") == "AUTOCODER_MODEL"
    assert with_env.api_key == "home-key"

    with_flag = load(dirs, env, model="flag-model", api_key="flag-key")
    assert (with_flag.model, with_flag.api_key) == ("flag-model", "flag-key")
    assert with_flag.base_url == "http://env.example/v1"
    assert with_flag.source_of("model") == "--model"


def test_old_names_are_still_read_and_the_new_ones_win(dirs: tuple[Path, Path]) -> None:
    home, _ = dirs
    (home / ".auto-coder.yaml").write_text("llm:\n  model: old-model\n  api_key: old-key\n")
    assert load(dirs).model == "old-model"
    (home / ".autocoder.yaml").write_text("llm:\n  model: new-model\n")
    config = load(dirs)
    assert (config.model, config.api_key) == ("new-model", "old-key")
    env = {"AUTO_CODER_MODEL": "old-env", "AUTO_CODER_BASE_URL": "http://old.example/v1"}
    assert load(dirs, env).model == "old-env"
    assert load(dirs, {**env, "AUTOCODER_MODEL": "new-env"}).model == "new-env"


def test_openai_api_key_is_only_a_fallback(dirs: tuple[Path, Path]) -> None:
    home, _ = dirs
    assert load(dirs, {"OPENAI_API_KEY": "sk-openai"}).api_key == "sk-openai"
    assert load(dirs, {"OPENAI_API_KEY": "sk-o", "AUTOCODER_API_KEY": "sk-a"}).api_key == "sk-a"
    (home / ".autocoder.yaml").write_text("llm:\n  api_key: file-key\n")
    assert load(dirs, {"OPENAI_API_KEY": "sk-openai"}).api_key == "file-key"


def test_an_explicit_config_file_replaces_the_default_files(dirs: tuple[Path, Path]) -> None:
    home, work = dirs
    (home / ".autocoder.yaml").write_text("llm:\n  model: home-model\n  api_key: home-key\n")
    chosen = work / "team.yaml"
    chosen.write_text("llm:\n  model: team-model\n")
    config = load_config(home=home, working_dir=work, environ={}, config_file=chosen)
    assert (config.model, config.api_key) == ("team-model", None)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(home=home, working_dir=work, environ={}, config_file=work / "missing.yaml")


def test_auth_switches_from_the_environment(dirs: tuple[Path, Path]) -> None:
    config = load(dirs, {"USE_SSO": "true", "SERVER_SIDE_TOKEN_REFRESH": "0"})
    assert (config.use_sso, config.server_side_token_refresh) == (True, False)
    with pytest.raises(ConfigError, match="USE_SSO must be true or false, not 'maybe'"):
        load(dirs, {"USE_SSO": "maybe"})
    with pytest.raises(ConfigError, match="AUTOCODER_TIMEOUT"):
        load(dirs, {"AUTOCODER_TIMEOUT": "soon"})


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("llm:\n  model: a\n  base_url: [unclosed\n", 4, "invalid YAML"),
        ("llm:\n  model: a\n\tapi_key: tab\n", 3, "invalid YAML"),
        ("llm:\n  model: a\n  timeout: soon\n", 3, "'llm.timeout' must be a number"),
        ("llm:\n  model: a\n  bsae_url: http://x\n", 3, "unknown setting 'llm.bsae_url'"),
        ("llm:\n  bsae_url: http://x\n", 2, "did you mean 'llm.base_url'?"),
        ("llm:\n  auth_headers: [a, b]\n", 2, "'llm.auth_headers' must be a mapping"),
        ("# comment\nllm: just text\n", 2, "'llm' must be a mapping"),
        ("- a\n- b\n", 1, "expected a mapping"),
        ("llm:\n  use_sso: 'yes please'\n", 2, "'llm.use_sso' must be true or false"),
    ],
)
def test_a_malformed_file_is_named_with_its_line(text: str, line: int, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config_text(text, "/somewhere/.autocoder.yaml")
    message = str(caught.value)
    assert message.startswith(f"/somewhere/.autocoder.yaml line {line}"), message
    assert says in message


def test_an_unknown_top_level_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / ".autocoder.yaml").write_text("lmm:\n  model: x\n")
    done = subprocess.run(
        [autocoder_exe(), "chat", "--engine", "nosuchengine", "hi", "-d", str(tmp_path)],
        env=chat_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    warning = (
        f"{tmp_path / '.autocoder.yaml'} line 1: unknown top-level key 'lmm' is ignored; "
        "did you mean 'llm'? settings go under 'llm:'"
    )
    assert warning in done.stderr, done.stderr
    assert done.stderr.count("unknown top-level key") == 1


def test_the_command_reports_a_malformed_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / ".autocoder.yaml").write_text("llm:\n  model: x\n  timeout: [1,\n")
    done = subprocess.run(
        [autocoder_exe(), "chat", "hi", "-d", str(tmp_path)],
        env=chat_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"{tmp_path / '.autocoder.yaml'} line 4" in done.stderr
    assert "invalid YAML" in done.stderr


def test_the_command_line_flag_beats_environment_and_file(tmp_path: Path) -> None:
    """End to end: file < environment < flag, seen in what reaches the server."""
    from tests.scripted_model import running_model_server

    home = tmp_path / "home"
    home.mkdir()
    with running_model_server("openai", ["one", "two", "three"]) as server:
        (home / ".autocoder.yaml").write_text(
            f"llm:\n  base_url: {server.base_url}\n  model: file-model\n  api_key: file-key\n"
        )

        def run(**env: str) -> None:
            args = ["chat", "hi", "-d", str(tmp_path)]
            if "FLAG_MODEL" in env:
                args += ["--model", env.pop("FLAG_MODEL")]
            done = subprocess.run(
                [autocoder_exe(), *args],
                env=chat_env(home, **env),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr

        run()
        run(AUTOCODER_MODEL="env-model", AUTOCODER_API_KEY="env-key")
        run(AUTOCODER_MODEL="env-model", FLAG_MODEL="flag-model")
    sent = [(r.body["model"], r.headers.get("authorization")) for r in server.turn_requests]
    assert sent == [
        ("file-model", "Bearer file-key"),
        ("env-model", "Bearer env-key"),
        ("flag-model", "Bearer file-key"),
    ]
