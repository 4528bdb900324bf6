"""Workflow commands and files as text: masks, annotations, outputs, defused untrusted lines;
and that `autocoder action` writes workflow commands only inside GitHub Actions (issue #9)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from action.main import Console
from action.workflow_commands import (
    annotation,
    escape_data,
    in_github_actions,
    mask_commands,
    neutralize,
    output_entries,
    plain_annotation,
)
from tests.action.actions_run import (
    actions_env,
    closed_port,
    issue_event,
    openai_settings,
    parse_output_file,
    run_step,
)
from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.server import running_model_server
from tests.world import MAINTAINER, make_world


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


# --- only inside GitHub Actions ---


@pytest.mark.parametrize(
    ("environ", "inside"),
    [
        ({"GITHUB_ACTIONS": "true"}, True),
        ({"GITHUB_ACTIONS": "TRUE"}, True),
        ({}, False),
        ({"GITHUB_ACTIONS": ""}, False),
        ({"GITHUB_ACTIONS": "false"}, False),
        ({"CI": "true"}, False),  # another CI: the runner's commands mean nothing there
    ],
)
def test_in_github_actions(environ: dict[str, str], inside: bool) -> None:
    assert in_github_actions(environ) is inside


PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretkeyline1\nsecretkeyline2abcdef\n"
    "-----END RSA PRIVATE KEY-----"
)


def test_console_outside_actions_never_prints_a_secret() -> None:
    written: list[str] = []
    console = Console(written.append, in_actions=False)
    console.mask([PEM, "ghs_installationtoken1234567890"])
    console.line(
        "token is ghs_installationtoken1234567890 and key line MIIEowIBAAKCAQEAsecretkeyline1"
    )
    console.annotate("error", "failed with ghs_installationtoken1234567890", title="autocoder")
    text = "\n".join(written)
    assert "::" not in text, "no workflow command outside Actions"
    assert "ghs_installationtoken1234567890" not in text
    assert "MIIEowIBAAKCAQEAsecretkeyline1" not in text
    assert written[-1] == "autocoder: error: failed with ***"


def test_console_inside_actions_masks_first_and_annotates() -> None:
    written: list[str] = []
    console = Console(written.append, in_actions=True)
    console.mask(["ghs_installationtoken1234567890"])
    console.annotate("error", "it broke", title="autocoder")
    assert written == [
        "::add-mask::ghs_installationtoken1234567890",
        "::error title=autocoder::it broke",
    ]


def test_plain_annotation() -> None:
    assert plain_annotation("warning", "look") == "warning: look"
    assert plain_annotation("error", "x", title="autocoder") == "autocoder: error: x"
    with pytest.raises(ValueError, match="unknown annotation level"):
        plain_annotation("debug", "x")


def _outside_actions(env: dict[str, str]) -> dict[str, str]:
    env = dict(env)
    del env["GITHUB_ACTIONS"]
    return env


def _secret_parts(*secrets: str) -> set[str]:
    return {part.strip() for s in secrets for part in s.splitlines() if len(part.strip()) >= 8}


def test_action_outside_actions_prints_neither_the_app_key_nor_a_token(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    """`autocoder action` run by hand (GITHUB_ACTIONS unset) with the App's key and a token in
    its environment: the session runs, and no line it prints holds either, nor any workflow
    command; the job-summary and output files of an Actions job are left alone."""
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    payload = issue_event(world, "labeled", number, sender=MAINTAINER)
    turns = [
        write_turn("openai", "hello.txt", "Hello, world!\n"),
        final_turn("Added hello.txt."),
    ]
    with running_model_server("openai", turns) as model:
        settings = openai_settings(model.base_url)
        env = actions_env(
            world,
            tmp_path,
            "issues",
            payload,
            actor=MAINTAINER,
            GITHUB_TOKEN=world.maintainer_token,
            AUTOCODER_GITHUB_APP_ID=str(world.app.id),
            AUTOCODER_GITHUB_PRIVATE_KEY=world.app.private_key,
            **settings,
        )
        run = run_step(_outside_actions(env), tmp_path)
    assert run.exit_code == 0, run.describe()
    assert len(open_pulls(world)) == 1, "the session ran"
    shown = run.stdout + run.stderr
    for part in _secret_parts(
        world.app.private_key, world.maintainer_token, settings["AUTOCODER_API_KEY"]
    ):
        assert part not in shown, "a secret was printed"
    assert "PRIVATE KEY" not in shown
    assert "ghs_" not in shown, "no installation token either"
    assert not any(line.lstrip().startswith("::") for line in shown.splitlines()), shown
    assert "conclusion: success" in run.stdout
    assert (run.summary, run.output_text) == ("", ""), "no job summary or outputs outside Actions"


def test_action_outside_actions_reports_a_failure_as_a_plain_line(
    github_emulator: Emulator, tmp_path: Path
) -> None:
    world = make_world(github_emulator)
    number = world.open_issue("Add a greeting file", "Please add hello.txt saying hello.")
    payload = issue_event(world, "labeled", number, sender=MAINTAINER)
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    env = actions_env(
        world,
        tmp_path,
        "issues",
        payload,
        actor=MAINTAINER,
        GITHUB_TOKEN=world.maintainer_token,
        **openai_settings(dead),
    )
    run = run_step(_outside_actions(env), tmp_path)
    assert run.exit_code != 0, run.describe()
    errors = [line for line in run.stdout.splitlines() if line.startswith("autocoder: error: ")]
    assert len(errors) == 1 and "127.0.0.1" in errors[0], run.stdout
    assert "::" not in run.stdout
    assert world.maintainer_token not in run.stdout + run.stderr


def test_not_an_actions_run_says_what_to_set_in_plain_words(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    (tmp_path / "summary.md").touch()
    (tmp_path / "output.txt").touch()
    run = run_step(env, tmp_path, timeout=60)
    assert run.exit_code == 1
    assert run.stdout.startswith("autocoder: error: ")
    assert "GITHUB_EVENT_NAME" in run.stdout
