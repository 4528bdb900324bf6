"""docs/configuration.md is generated from the settings models and kept in step with them;
`autocoder serve --help` lists the same names with their defaults."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from app.config import SETTINGS_MODELS, known_env_names
from autocoder.cli import _register, cli
from autocoder.config_reference import markdown, sections

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_configuration_reference_is_in_step_with_the_settings() -> None:
    assert DOC.read_text() == markdown(), (
        "docs/configuration.md is stale: run "
        "`python -m autocoder.config_reference > docs/configuration.md`"
    )


def test_every_setting_is_documented_with_its_names() -> None:
    text = DOC.read_text()
    assert len(SETTINGS_MODELS) == 3
    for name in known_env_names():
        assert f"`{name}`" in text, name
    for _title, _blurb, rows in sections():
        for row in rows:
            assert row.description, f"{row.names[0]} has no description"


def test_serve_help_shows_env_names_and_defaults() -> None:
    _register()
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(line.split() == ["AUTOCODER_MAX_ATTEMPTS", "3"] for line in lines), result.output
    assert any(line.split() == ["AUTOCODER_ENGINE", "claude"] for line in lines)
    assert "--env-file" in result.output
