"""The file and command tools on real files in a temporary worktree, with the real policy and
sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.policy import CommandPolicy
from runner.sandbox import Sandbox
from runner.tools import Toolbox, ToolError, ToolRegistry, ToolResult, ToolSpec, default_tools
from runner.tools.text import closest_lines, number_lines, replace_exact, unified_diff


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "src" / "app.py").write_text("def main():\n    print('hi')\n\nmain()\n")
    (root / "README.md").write_text("# demo\n")
    return root


def make_toolbox(worktree: Path, **kwargs) -> Toolbox:
    return Toolbox(
        worktree,
        CommandPolicy.default(worktree),
        Sandbox(worktree, timeout_s=30),
        **kwargs,
    )


@pytest.fixture
def toolbox(worktree: Path) -> Toolbox:
    return make_toolbox(worktree)


# -- read_file -----------------------------------------------------------------------------------


def test_read_file_numbers_lines(toolbox: Toolbox) -> None:
    result = toolbox.read_file("src/app.py")
    assert result.ok
    assert result.output.splitlines() == [
        "    1\tdef main():",
        "    2\t    print('hi')",
        "    3\t",
        "    4\tmain()",
    ]


def test_read_file_offset_and_limit_say_where_to_read_on(toolbox: Toolbox, worktree: Path) -> None:
    (worktree / "long.txt").write_text("".join(f"line {n}\n" for n in range(1, 11)))
    result = toolbox.read_file("long.txt", offset=3, limit=2)
    assert result.ok
    lines = result.output.splitlines()
    assert lines[:2] == ["    3\tline 3", "    4\tline 4"]
    assert "lines 3-4 of 10" in lines[2]
    assert "offset=5" in lines[2]


@pytest.mark.parametrize(
    ("setup", "path", "expected"),
    [
        (None, "missing.txt", "missing.txt does not exist"),
        (None, "src", "src is a directory; use list_directory"),
        ("binary", "blob.bin", "blob.bin looks like a binary file"),
        ("empty", "empty.txt", "(empty.txt is empty)"),
    ],
)
def test_read_file_explains_what_it_cannot_show(
    toolbox: Toolbox, worktree: Path, setup: str | None, path: str, expected: str
) -> None:
    if setup == "binary":
        (worktree / path).write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    elif setup == "empty":
        (worktree / path).write_text("")
    result = toolbox.read_file(path)
    assert expected in result.output
    assert result.ok is (setup == "empty")


# -- write_file and edit_file --------------------------------------------------------------------


def test_write_file_creates_parents_and_returns_a_diff(toolbox: Toolbox, worktree: Path) -> None:
    result = toolbox.write_file("pkg/sub/mod.py", "x = 1\n")
    assert result.ok, result.output
    assert (worktree / "pkg/sub/mod.py").read_text() == "x = 1\n"
    assert result.output == "created pkg/sub/mod.py (1 lines)"
    assert result.diff is not None
    assert "--- /dev/null" in result.diff
    assert "+++ b/pkg/sub/mod.py" in result.diff
    assert "+x = 1" in result.diff

    result = toolbox.write_file("pkg/sub/mod.py", "x = 2\n")
    assert result.ok
    assert result.output == "updated pkg/sub/mod.py (+1 -1 lines)"
    assert result.diff is not None
    assert "-x = 1\n+x = 2\n" in result.diff


def test_edit_file_replaces_the_exact_text(toolbox: Toolbox, worktree: Path) -> None:
    result = toolbox.edit_file("src/app.py", "print('hi')", "print('hello')")
    assert result.ok, result.output
    assert (worktree / "src/app.py").read_text() == "def main():\n    print('hello')\n\nmain()\n"
    assert result.diff is not None
    assert "-    print('hi')\n+    print('hello')\n" in result.diff
    assert result.output.startswith("edited src/app.py (+1 -1 lines)")


def test_edit_file_missing_text_shows_the_closest_lines(toolbox: Toolbox, worktree: Path) -> None:
    before = (worktree / "src/app.py").read_text()
    result = toolbox.edit_file("src/app.py", "    print('hi!')\n", "    pass\n")
    assert not result.ok
    assert "old_text was not found in src/app.py; nothing was changed" in result.output
    assert "The closest lines in src/app.py are:\n    2\t    print('hi')" in result.output
    assert (worktree / "src/app.py").read_text() == before


def test_edit_file_non_unique_text_gives_the_count(toolbox: Toolbox, worktree: Path) -> None:
    (worktree / "dup.txt").write_text("a = 1\nb = 2\na = 1\na = 1\n")
    result = toolbox.edit_file("dup.txt", "a = 1", "a = 3")
    assert not result.ok
    assert "old_text occurs 3 times in dup.txt" in result.output
    assert (worktree / "dup.txt").read_text() == "a = 1\nb = 2\na = 1\na = 1\n"


def test_edit_file_on_a_missing_file_points_to_write_file(toolbox: Toolbox) -> None:
    result = toolbox.edit_file("nope.py", "a", "b")
    assert not result.ok
    assert "nope.py does not exist; create it with write_file" in result.output


def test_edit_file_keeps_windows_line_endings(toolbox: Toolbox, worktree: Path) -> None:
    (worktree / "crlf.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    result = toolbox.edit_file("crlf.txt", "one\ntwo\n", "one\n2\n")
    assert result.ok, result.output
    assert (worktree / "crlf.txt").read_bytes() == b"one\r\n2\r\nthree\r\n"


# -- list_directory ------------------------------------------------------------------------------


def test_list_directory_marks_dirs_and_skips_git(toolbox: Toolbox, worktree: Path) -> None:
    (worktree / "docs").mkdir()
    result = toolbox.list_directory()
    assert result.ok
    assert result.output.splitlines() == ["README.md", "docs/", "src/"]
    assert toolbox.list_directory("src").output == "app.py"
    assert not toolbox.list_directory("README.md").ok


# -- confinement ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["../outside.txt", "src/../../outside.txt", "/etc/passwd"])
def test_paths_outside_the_worktree_are_refused(toolbox: Toolbox, worktree: Path, path: str):
    outside = worktree.parent / "outside.txt"
    outside.write_text("secret\n")
    for result in (
        toolbox.read_file(path),
        toolbox.write_file(path, "pwned\n"),
        toolbox.edit_file(path, "secret", "pwned"),
        toolbox.list_directory(path),
    ):
        assert not result.ok
        assert result.output.startswith("path refused:"), result.output
        assert "secret" not in result.output
    assert outside.read_text() == "secret\n"


def test_symlinks_pointing_outside_are_refused(toolbox: Toolbox, worktree: Path) -> None:
    outside = worktree.parent / "elsewhere"
    outside.mkdir()
    (outside / "data.txt").write_text("outside data\n")
    (worktree / "link").symlink_to(outside)
    (worktree / "file-link").symlink_to(outside / "data.txt")
    for result in (
        toolbox.read_file("link/data.txt"),
        toolbox.read_file("file-link"),
        toolbox.write_file("link/new.txt", "x"),
        toolbox.write_file("file-link", "overwritten\n"),
        toolbox.edit_file("file-link", "outside", "inside"),
        toolbox.list_directory("link"),
    ):
        assert not result.ok
        assert result.output.startswith("path refused:"), result.output
        assert "outside data" not in result.output
    assert (outside / "data.txt").read_text() == "outside data\n"
    assert not (outside / "new.txt").exists()


# -- run_command ---------------------------------------------------------------------------------


def test_run_command_refused_gives_the_reason_and_a_record(toolbox: Toolbox) -> None:
    result = toolbox.run_command("curl https://example.com")
    assert not result.ok
    assert result.output.startswith("command refused: ")
    assert result.command is not None
    assert result.command.command == "curl https://example.com"
    assert result.command.exit_code is None
    assert result.command.refused_reason
    assert result.command.refused_reason in result.output


def test_run_command_allowed_reports_the_exit_code(toolbox: Toolbox) -> None:
    result = toolbox.run_command("ls src")
    assert result.ok
    assert result.output.splitlines() == ["exit code 0", "app.py"]
    assert result.command is not None
    assert result.command.exit_code == 0
    assert result.command.refused_reason is None

    failed = toolbox.run_command("ls no-such-dir")
    assert not failed.ok
    assert failed.command is not None
    assert failed.command.exit_code not in (0, None)
    assert failed.output.startswith(f"exit code {failed.command.exit_code}\n")


@pytest.mark.parametrize("answer", [True, False])
def test_confirm_is_asked_for_refused_commands(worktree: Path, answer: bool) -> None:
    asked: list[tuple[str, str]] = []

    def confirm(command: str, reason: str) -> bool:
        asked.append((command, reason))
        return answer

    toolbox = make_toolbox(worktree, confirm=confirm)
    command = "wget -q -O- http://127.0.0.1:9/ || echo ran-anyway"
    result = toolbox.run_command(command)
    assert len(asked) == 1
    assert asked[0][0] == command
    assert asked[0][1]
    assert result.command is not None
    if answer:
        assert result.command.refused_reason is None
        assert result.command.exit_code is not None
        assert not result.output.startswith("command refused")
    else:
        assert result.command.refused_reason == asked[0][1]
        assert result.output == f"command refused: {asked[0][1]}"

    assert toolbox.run_command("ls").ok
    assert len(asked) == 1  # allowed commands are not asked about


# -- the registry --------------------------------------------------------------------------------


def test_default_tools_schema(toolbox: Toolbox) -> None:
    registry = default_tools(toolbox)
    schema = registry.openai_schema()
    names = [tool["function"]["name"] for tool in schema]
    assert names == ["read_file", "write_file", "edit_file", "list_directory", "run_command"]
    for tool in schema:
        assert tool["type"] == "function"
        assert tool["function"]["description"]
        assert tool["function"]["parameters"]["type"] == "object"
    json.dumps(schema)  # plain JSON


def test_registry_calls_tools_with_json_arguments(toolbox: Toolbox, worktree: Path) -> None:
    registry = default_tools(toolbox)
    result = registry.call("write_file", json.dumps({"path": "a.txt", "content": "A\n"}))
    assert result.ok
    assert (worktree / "a.txt").read_text() == "A\n"
    assert registry.call("list_directory", "").ok  # no arguments at all is fine
    assert registry.call("read_file", '{"path": "a.txt", "limit": 1}').output == "    1\tA"


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("delete_everything", "{}", "unknown tool 'delete_everything'; the tools are: read_file"),
        ("write_file", '{"path": "a.txt", "content": ', "the arguments for write_file are not"),
        ("write_file", "[1, 2]", "the arguments for write_file must be a JSON object"),
        ("write_file", '{"path": "a.txt"}', "missing argument content; call write_file with"),
        ("edit_file", '{"path": "a"}', "missing arguments old_text, new_text"),
        ("read_file", '{"path": 3}', "argument path must be of type string"),
        ("read_file", '{"path": "a", "offset": "x"}', "argument offset must be of type integer"),
        ("read_file", '{"path": "a", "offset": true}', "argument offset must be of type integer"),
        ("read_file", '{"path": "a", "mode": "r"}', "unknown argument mode"),
    ],
)
def test_registry_explains_bad_calls(
    toolbox: Toolbox, name: str, arguments: str, expected: str
) -> None:
    result = default_tools(toolbox).call(name, arguments)
    assert not result.ok
    assert expected in result.output


def test_registry_takes_extra_tools(toolbox: Toolbox) -> None:
    registry = default_tools(toolbox)

    def shout(text: str) -> str:
        return text.upper()

    def stats() -> dict[str, int]:
        return {"passing": 3}

    def broken() -> ToolResult:
        raise ToolError("the feature database is locked")

    no_args = {"type": "object", "properties": {}}
    registry.register(
        ToolSpec(
            "shout",
            "Say it loudly",
            {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
            shout,
        )
    )
    registry.register(ToolSpec("stats", "Feature stats", no_args, stats))
    registry.register(ToolSpec("broken", "Always fails", no_args, broken))
    assert "shout" in registry
    assert len(registry) == 8
    assert registry.call("shout", '{"text": "hi"}') == ToolResult(True, "HI")
    assert registry.call("stats", "{}") == ToolResult(True, '{"passing": 3}')
    assert registry.call("broken", "{}") == ToolResult(False, "the feature database is locked")
    with pytest.raises(ValueError, match="already registered"):
        registry.register(ToolSpec("shout", "again", no_args, shout))
    assert ToolRegistry().openai_schema() == []


# -- the pure helpers ----------------------------------------------------------------------------


def test_number_lines_widens_for_big_numbers() -> None:
    assert number_lines(["x"], first_number=123456) == "123456\tx"


def test_unified_diff_of_equal_texts_is_empty() -> None:
    assert unified_diff("a\n", "a\n", "f") == ""
    assert "\\ No newline at end of file" in unified_diff("a", "b", "f")


def test_replace_exact_and_closest_lines() -> None:
    assert replace_exact("abc", "b", "B").new_content == "aBc"
    assert replace_exact("abab", "ab", "x").occurrences == 2
    assert closest_lines("alpha\nbeta\ngamma\n", "zzzzzzzz") == ""
    assert closest_lines("alpha\nbeta\ngamma\n", "  betta") == "    2\tbeta"
