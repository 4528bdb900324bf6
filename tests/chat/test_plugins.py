"""Custom tools, providers and authentication providers installed as entry points.

Each test writes a tiny installed distribution (a `*.dist-info` with `entry_points.txt`, next to
its module) into a temporary directory on the path, the way `pip install` would leave it.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from runner.chat.auth import load_auth_provider
from runner.chat.errors import ChatError
from runner.chat.plugins import plugin_tools, tools_from
from runner.chat.provider import ProviderSettings, make_provider
from runner.tools import Toolbox, ToolResult
from tests.chat.fakes import autocoder_exe, chat_env

PLUGIN = '''
from runner.chat.auth import AuthenticationProvider
from runner.chat.provider import ChatProvider, ChatResponse
from runner.engines.openai.wire import ToolCallRequest
from runner.tools import ToolResult, ToolSpec


def word_count_tool(toolbox):
    def count(path):
        text = (toolbox.worktree / path).read_text()
        return ToolResult(True, f"{len(text.split())} words")

    return ToolSpec(
        name="word_count",
        description="Count the words of a file.",
        parameters={
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
        handler=count,
        summary_argument="path",
    )


class EchoProvider(ChatProvider):
    """Not a real model: counts the words of notes.txt with the tool, then says the result."""

    def __init__(self, settings):
        self.settings = settings

    async def complete(self, messages, *, tools, correlation_id, on_text=None, on_retry=None):
        last = messages[-1]
        if last["role"] == "tool":
            text = f"echo model ({self.settings.model}) says: {last['content']}"
            if on_text:
                on_text(text)
            return ChatResponse(content=text)
        call = ToolCallRequest(id="call_1", name="word_count", arguments='{"path": "notes.txt"}')
        return ChatResponse(content="", tool_calls=(call,))


class TeamAuth(AuthenticationProvider):
    def generate_auth_token(self):
        return "team-token"
'''

ENTRY_POINTS = """
[autocoder.tools]
word_count = chat_plugin_example:word_count_tool

[autocoder.providers]
echo = chat_plugin_example:EchoProvider

[autocoder.auth_providers]
team = chat_plugin_example:TeamAuth
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    dist = site / "chat_plugin_example-1.0.dist-info"
    dist.mkdir(parents=True)
    (site / "chat_plugin_example.py").write_text(textwrap.dedent(PLUGIN))
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: chat-plugin-example\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    return site


def test_installed_tools_are_found(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("three little words")
    tools = plugin_tools(Toolbox.for_worktree(tmp_path))
    assert [tool.name for tool in tools] == ["word_count"]
    result = tools[0].handler(path="notes.txt")
    assert isinstance(result, ToolResult) and result.output == "3 words"


def test_an_installed_auth_provider_is_found_by_name_or_alone(installed: Path) -> None:
    named = load_auth_provider("team")
    alone = load_auth_provider(None)  # the only one installed
    assert named is not None and alone is not None
    assert named.generate_auth_token() == alone.generate_auth_token() == "team-token"


def test_an_installed_provider_is_an_engine(installed: Path) -> None:
    provider = make_provider("echo", ProviderSettings(base_url="x", model="m"))
    assert type(provider).__name__ == "EchoProvider"
    with pytest.raises(ChatError, match="no engine named 'nope'; the engines are: openai, claude"):
        make_provider("nope", ProviderSettings(base_url="x", model="m"))


def test_tools_from_rejects_what_is_not_a_tool(tmp_path: Path) -> None:
    with pytest.raises(ChatError, match="neither a ToolSpec nor a callable"):
        tools_from(42, Toolbox.for_worktree(tmp_path))
    with pytest.raises(ChatError, match="not a ToolSpec"):
        tools_from(lambda toolbox: "nope", Toolbox.for_worktree(tmp_path))


def test_the_command_uses_an_installed_provider_and_tool(installed: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("one two three four")
    env = chat_env(tmp_path)
    env["PYTHONPATH"] = f"{installed}:{env['PYTHONPATH']}"
    done = subprocess.run(
        [autocoder_exe(), "chat", "--engine", "echo", "-m", "tiny", "-d", str(work), "count"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert '-> word_count(path="notes.txt")' in done.stdout
    assert "echo model (tiny) says: 4 words" in done.stdout
