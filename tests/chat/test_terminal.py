"""`autocoder chat` as a person uses it: in a pseudo-terminal (pexpect), against the scripted
OpenAI-compatible server, with a real file changed in a temporary directory."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pexpect
import pytest

from tests.chat.fakes import autocoder_exe, chat_env
from tests.scripted_model import Stall, Turn, running_model_server, text_turn, tool_turn

pytestmark = pytest.mark.slow

PROMPT = "\r\n> "
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
REPLY = "Done: hello.py now greets the world."


def edit_script() -> list[Turn]:
    return [
        tool_turn(
            "edit_file",
            {"path": "hello.py", "old_text": "print('hello')", "new_text": "print('hello, world')"},
            text="I'll change the greeting.",
        ),
        text_turn(REPLY),
    ]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    (work / "hello.py").write_text("import sys\nprint('hello')\n")
    (tmp_path / "home").mkdir()
    return work


def spawn(project: Path, base_url: str, *args: str) -> pexpect.spawn[str]:
    child = pexpect.spawn(
        autocoder_exe(),
        ["chat", "-d", str(project), "--base-url", base_url, "--model", "scripted-model", *args],
        env=chat_env(project.parent / "home"),
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 200),
    )
    child.expect_exact(PROMPT)
    return child


def matched(child: pexpect.spawn[str]) -> str:
    assert isinstance(child.match, re.Match)
    return str(child.match.group(1))


def test_repl_edits_a_file_shows_the_diff_and_keeps_a_correlation_id(project: Path) -> None:
    script = [*edit_script(), text_turn("Second answer.")]
    with running_model_server("openai", script) as server:
        child = spawn(project, server.base_url)
        child.sendline("make hello.py greet the world")
        child.expect_exact("I'll change the greeting.")
        child.expect_exact('-> edit_file(path="hello.py", old_text="print(\'hello\')"')
        child.expect_exact("ok: edited hello.py (+1 -1 lines)")
        child.expect_exact("-print('hello')")
        child.expect_exact("+print('hello, world')")
        child.expect_exact(REPLY)
        child.expect_exact(PROMPT)
        assert (project / "hello.py").read_text() == "import sys\nprint('hello, world')\n"

        child.sendline("/id")
        child.expect(f"correlation id: ({UUID})")
        shown_id = matched(child)
        child.expect_exact(PROMPT)
        first_two = server.turn_requests
        assert len(first_two) == 2
        assert {r.headers["x-correlation-id"] for r in first_two} == {shown_id}
        # The second request carries the tool result and the whole conversation so far.
        messages = first_two[1].body["messages"]
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]

        child.sendline("/reset")
        child.expect(f"new correlation id: ({UUID})")
        new_id = matched(child)
        assert new_id != shown_id
        child.expect_exact(PROMPT)
        child.sendline("/id")
        child.expect_exact(f"correlation id: {new_id}")
        child.expect_exact(PROMPT)

        child.sendline("anything else?")
        child.expect_exact("Second answer.")
        child.expect_exact(PROMPT)
        third = server.turn_requests[2]
        assert third.headers["x-correlation-id"] == new_id
        assert [m["role"] for m in third.body["messages"]] == ["system", "user"]  # history gone

        child.sendline("/quit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0


def test_help_and_ctrl_d(project: Path) -> None:
    with running_model_server("openai", []) as server:
        child = spawn(project, server.base_url)
        child.sendline("/help")
        child.expect_exact("/clear, /reset")
        child.expect_exact(PROMPT)
        child.sendeof()
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0


def test_ctrl_c_cancels_the_turn_and_keeps_the_program(project: Path) -> None:
    script = [Turn(text="too late", stall=Stall(seconds=60)), text_turn("After the cancel.")]
    with running_model_server("openai", script) as server:
        child = spawn(project, server.base_url)
        child.sendline("this will hang")
        deadline_requests = 0
        while deadline_requests < 100 and not server.requests:
            child.expect(pexpect.TIMEOUT, timeout=0.1)
            deadline_requests += 1
        assert server.requests, "the request never reached the server"
        child.sendintr()
        child.expect_exact("(cancelled)")
        child.expect_exact(PROMPT)
        child.sendline("try again")
        child.expect_exact("too late")  # the stall is over: the turn itself is served
        child.expect_exact(PROMPT)
        last = server.turn_requests[-1].body["messages"]
        assert [m["content"] for m in last if m["role"] == "user"] == ["try again"]
        child.sendline("/exit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0


@pytest.mark.parametrize("answer", ["y", "n"])
def test_a_command_outside_the_allowlist_is_asked_about(project: Path, answer: str) -> None:
    script = [tool_turn("run_command", {"command": "factor 12"}), text_turn("Finished.")]
    with running_model_server("openai", script) as server:
        child = spawn(project, server.base_url)
        child.sendline("factor twelve")
        child.expect_exact("The model wants to run: factor 12")
        child.expect_exact("`factor` is not on the allowlist")
        child.expect_exact("Run it? [y/N] ")
        child.sendline(answer)
        if answer == "y":
            child.expect_exact("ok: exit code 0")
        else:
            child.expect_exact("failed: command refused")
        child.expect_exact("Finished.")
        child.expect_exact(PROMPT)
        tool_message = server.turn_requests[1].body["messages"][-1]
        assert tool_message["role"] == "tool"
        if answer == "y":
            assert "12: 2 2 3" in tool_message["content"]
        else:
            assert "refused" in tool_message["content"]
        child.sendline("/quit")
        child.expect(pexpect.EOF)


def test_single_prompt_mode_runs_the_same_scenario(project: Path) -> None:
    with running_model_server("openai", edit_script()) as server:
        done = subprocess.run(
            [
                autocoder_exe(),
                "chat",
                "make hello.py greet the world",
                "-d",
                str(project),
                "--base-url",
                server.base_url,
                "-m",
                "scripted-model",
            ],
            env=chat_env(project.parent / "home"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "+print('hello, world')" in done.stdout
        assert REPLY in done.stdout
        assert (project / "hello.py").read_text() == "import sys\nprint('hello, world')\n"
        ids = {r.headers["x-correlation-id"] for r in server.turn_requests}
        assert len(ids) == 1 and re.fullmatch(UUID, ids.pop())


def test_a_refused_connection_says_what_was_tried_and_how_to_point_elsewhere(
    project: Path,
) -> None:
    done = subprocess.run(
        [autocoder_exe(), "chat", "hello", "-d", str(project)],
        env=chat_env(project.parent / "home", AUTOCODER_BASE_URL="http://127.0.0.1:9/v1"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "could not reach the model at http://127.0.0.1:9/v1 (from AUTOCODER_BASE_URL)" in (
        done.stdout
    )
    assert "connection refused" in done.stdout
    assert "--base-url" in done.stdout and "~/.autocoder.yaml" in done.stdout
