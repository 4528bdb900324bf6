"""`autocoder chat --engine claude`: the runner's Claude engine (the real claude-agent-sdk and
its bundled CLI) against the scripted Anthropic server, one run per prompt."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.engines.claude.launch import bundled_cli_path
from tests.chat.fakes import autocoder_exe, chat_env
from tests.scripted_model import ToolCall, Turn, running_model_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(150),
    pytest.mark.skipif(bundled_cli_path() is None, reason="the Claude Code CLI is not bundled"),
]


def test_single_prompt_with_the_claude_engine(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    target = work / "greeting.txt"
    script = [
        Turn(
            text="Writing it.",
            tool_calls=(ToolCall("Write", {"file_path": str(target), "content": "hi there\n"}),),
        ),
        Turn(text="Wrote greeting.txt."),
    ]
    with running_model_server("anthropic", script) as server:
        env = chat_env(
            tmp_path,
            ANTHROPIC_BASE_URL=server.base_url,
            ANTHROPIC_API_KEY="sk-ant-chat-test",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        )
        done = subprocess.run(
            [autocoder_exe(), "chat", "--engine", "claude", "-d", str(work), "write a greeting"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert target.read_text() == "hi there\n"
    assert "-> Write(" in done.stdout
    assert "Wrote greeting.txt." in done.stdout
