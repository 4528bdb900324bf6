"""Workflow commands and files as text: masks, annotations, outputs, defused untrusted lines."""

from __future__ import annotations

import pytest

from action.workflow_commands import (
    annotation,
    escape_data,
    mask_commands,
    neutralize,
    output_entries,
)
from tests.action.actions_run import parse_output_file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("100% done", "100%25 done"),
        ("two\nlines", "two%0Alines"),
        ("cr\r\nlf", "cr%0D%0Alf"),
    ],
)
def test_escape_data(text: str, expected: str) -> None:
    assert escape_data(text) == expected


def test_annotation_escapes_message_and_title() -> None:
    line = annotation("error", "it broke: 50%\nWhat to do: retry", title="autocoder: a, b")
    assert line == "::error title=autocoder%3A a%2C b::it broke: 50%25%0AWhat to do: retry"
    assert "\n" not in line
    with pytest.raises(ValueError):
        annotation("fatal", "x")


def test_mask_commands_mask_each_line_of_a_multiline_secret() -> None:
    pem = "\n".join(
        ["-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEAlC3mf", "abc", "-----END ...-----"]
    )
    lines = mask_commands([pem, "ghp_token123", "ghp_token123", ""])
    assert "::add-mask::MIIEowIBAAKCAQEAlC3mf" in lines
    assert "::add-mask::ghp_token123" in lines
    assert len(lines) == len(set(lines)), "each value once"
    assert "::add-mask::abc" not in lines, "too short to mask without blanking ordinary words"
    assert all(line.startswith("::add-mask::") and "\n" not in line for line in lines)


@pytest.mark.parametrize(
    "hostile",
    [
        "::add-mask::everything",
        "   ::error::fake",
        "##[group]fake",
        "ok\n::set-output name=x::y",
        "ok\r::stop-commands::token",
    ],
)
def test_neutralize_defuses_workflow_commands_in_untrusted_text(hostile: str) -> None:
    for line in neutralize(hostile).splitlines():
        assert not line.strip().startswith(("::", "##[")), line


def test_neutralize_leaves_ordinary_lines_alone() -> None:
    assert neutralize("🔧 run_command echo ::x::") == "🔧 run_command echo ::x::"


def test_output_entries_round_trip_any_value() -> None:
    values = {
        "pr_url": "https://github.com/o/r/pull/2",
        "empty": "",
        "multi": "line one\nline two\n",
        "tricky": "ghadelimiter_fixed\nname<<EOF\n",
    }
    text = output_entries(values)
    assert parse_output_file(text) == values
    clash = output_entries({"v": "ghadelimiter_fixed"}, delimiter="ghadelimiter_fixed")
    assert parse_output_file(clash) == {"v": "ghadelimiter_fixed"}
    with pytest.raises(ValueError):
        output_entries({"bad<<name": "x"})
