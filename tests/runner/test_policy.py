"""The command policy beyond the table: paths and symlinks, the allowlist, the text scanner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.policy import (
    DEFAULT_ALLOWED_COMMANDS,
    CommandPolicy,
    Verdict,
    judge_command,
    judge_path,
)
from runner.policy.shell_text import ShellTextError, analyze_word, scan_shell_text


@pytest.fixture()
def worktree(tmp_path: Path) -> Path:
    root = tmp_path / "wt"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print(1)\n")
    (root / ".git").write_text("gitdir: /somewhere/else\n")
    return root


# --- judge_path (the file tools) ---


@pytest.mark.parametrize(
    ("path", "for_write", "allowed"),
    [
        ("src/app.py", False, True),
        ("src/app.py", True, True),
        ("src/new/file.py", True, True),
        ("src/../README.md", True, True),
        ("../outside.txt", False, False),
        ("/etc/passwd", False, False),
        ("~/.ssh/id_rsa", False, False),
        (".git", False, True),  # reading git metadata reveals nothing secret, by design
        (".git", True, False),
        (".git/hooks/pre-commit", True, False),
        ("/dev/null", True, True),
        ("/dev/stdout", True, True),
        ("/dev/urandom", False, True),
        ("/dev/sda", False, False),
    ],
)
def test_judge_path(worktree: Path, path: str, for_write: bool, allowed: bool) -> None:
    verdict = judge_path(path, worktree, for_write=for_write)
    assert verdict.allowed is allowed, verdict.reason


def test_judge_path_accepts_absolute_paths_inside(worktree: Path) -> None:
    assert judge_path(worktree / "src" / "app.py", worktree, for_write=True).allowed


def test_judge_path_refusal_says_why(worktree: Path) -> None:
    verdict = judge_path("/etc/passwd", worktree, for_write=False)
    assert verdict == Verdict(False, verdict.reason)
    assert "outside the worktree" in verdict.reason and str(worktree.resolve()) in verdict.reason
    verdict = judge_path(".git/config", worktree, for_write=True)
    assert "`.git` holds git's metadata" in verdict.reason


def test_symlinks_are_resolved(worktree: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    os.symlink(secret, worktree / "innocent.txt")
    os.symlink(tmp_path, worktree / "updir")
    os.symlink(worktree / "src", worktree / "alias")  # a link that stays inside is fine
    policy = CommandPolicy.default(worktree)
    assert not judge_path("innocent.txt", worktree, for_write=False).allowed
    assert not judge_path("updir/secret.txt", worktree, for_write=True).allowed
    assert judge_path("alias/app.py", worktree, for_write=True).allowed
    assert not judge_command("cat innocent.txt", policy).allowed
    assert not judge_command("cd updir && ls", policy).allowed
    assert not judge_command("echo x > updir/new.txt", policy).allowed
    assert judge_command("cat alias/app.py", policy).allowed


# --- the allowlist and its extension ---


def test_default_allowlist_covers_the_seed() -> None:
    # The original AutoCoder allowlist (minus process killing, which the sandbox makes moot).
    for name in ("ls", "cat", "head", "tail", "wc", "grep", "npm", "node", "git", "sleep"):
        assert name in DEFAULT_ALLOWED_COMMANDS
    for name in ("curl", "wget", "ssh", "sudo", "eval", "kill"):
        assert name not in DEFAULT_ALLOWED_COMMANDS


def test_extra_commands_extend_the_allowlist(worktree: Path) -> None:
    assert not judge_command("just build", CommandPolicy.default(worktree)).allowed
    assert judge_command("just build", CommandPolicy.default(worktree, ["just"])).allowed


def test_extra_commands_cannot_lift_hard_rules(worktree: Path) -> None:
    policy = CommandPolicy.default(worktree, ["sudo", "eval", "source", "git", "exec"])
    for command in ("sudo ls", "eval ls", "source x.sh", "git push", "exec ls"):
        assert not judge_command(command, policy).allowed, command
    assert "`git push` is not allowed" in judge_command("git push -f origin x", policy).reason


def test_extra_commands_still_have_paths_checked(worktree: Path) -> None:
    policy = CommandPolicy.default(worktree, ["just"])
    assert "outside the worktree" in judge_command("just -f /etc/x", policy).reason


def test_refusal_lists_the_allowed_commands(worktree: Path) -> None:
    reason = judge_command("curl https://example.com", CommandPolicy.default(worktree)).reason
    assert reason.startswith("`curl` is not on the allowlist; allowed commands: ")
    assert "git" in reason and "pytest" in reason and "no network access" in reason


def test_nested_shells_are_judged_to_a_limit(worktree: Path) -> None:
    policy = CommandPolicy.default(worktree)
    assert judge_command("bash -c \"sh -c 'ls'\"", policy).allowed
    assert not judge_command("bash -c \"sh -c 'curl x'\"", policy).allowed
    deep = "ls"
    for _ in range(6):
        deep = f"bash -c {deep!r}" if "'" not in deep else f'bash -c "{deep}"'
    assert not judge_command(deep, policy).allowed


def test_more_edge_cases(worktree: Path) -> None:
    policy = CommandPolicy.default(worktree)
    allowed = [
        "cat <<EOF > a.txt\nhome is $HOME\nEOF",  # parameters in a here-document are fine
        "git log -S '/etc/passwd' --oneline",
        "python -m pytest -k 'not slow' tests",
        "xargs -0 grep -l TODO < files.txt",
        "find src -name '*.py' -exec sh -c 'wc -l \"$1\"' _ {} \\;",
        "command -v python3",
        "nohup sleep 1 &",
        "echo 'a;b' | cut -d ';' -f 2",
        "ls -la src/{a,b}.py",
    ]
    refused = [
        "ls src/{a,../../x}",
        "find . -name '*.py' -fprint /tmp/list",
        "xargs -a /etc/passwd echo",
        "rg --pre cat foo",
        "git grep -O vim foo",
        "git config alias.x '!curl x'",
        "git config --file ~/.gitconfig user.name x",
        "env -S 'curl x'",
        "timeout 5 curl x",
        "nice -n 5 wget x",
        "IFS=/ ; ls",
        "chmod u+s x",
        "cp secret.txt .git/",
        "mv src .git",
        "tee .git/config < x",
        "sh",
        "bash -s < script.sh",
        "a=1; $a",
    ]
    for command in allowed:
        verdict = judge_command(command, policy)
        assert verdict.allowed, (command, verdict.reason)
    for command in refused:
        assert not judge_command(command, policy).allowed, command


def test_judging_has_no_side_effects(worktree: Path) -> None:
    before = sorted(p.relative_to(worktree) for p in worktree.rglob("*"))
    judge_command("mkdir -p a/b && touch a/b/c && rm -rf src", CommandPolicy.default(worktree))
    assert sorted(p.relative_to(worktree) for p in worktree.rglob("*")) == before


# --- reading shell text ---


def test_scanner_unquotes_heredoc_delimiters_in_place() -> None:
    text = "cat <<'EOF' > x\n$(not run)\nEOF\necho done"
    scanned = scan_shell_text(text)
    assert len(scanned.text) == len(text)
    assert "<<EOF   > x" in scanned.text
    assert scanned.heredocs[0].quoted and scanned.heredocs[0].body == "$(not run)"
    assert scanned.substitutions == 0


def test_scanner_counts_substitutions_bash_would_run() -> None:
    assert scan_shell_text("echo '$(no)' \"$(yes)\" `yes` <(yes) ${X:-$(yes)}").substitutions == 4
    assert scan_shell_text("echo hi # $(a comment)").substitutions == 0
    assert scan_shell_text("echo $'\\x41'").ansi_c_quoting
    assert not scan_shell_text("echo \"$'x'\"").ansi_c_quoting


@pytest.mark.parametrize("text", ["echo 'open", 'echo "open', "echo $(ls", "cat <<EOF\nno end"])
def test_scanner_rejects_incomplete_text(text: str) -> None:
    with pytest.raises(ShellTextError):
        scan_shell_text(text)


@pytest.mark.parametrize(
    ("raw", "values", "dynamic"),
    [
        ("plain", ("plain",), False),
        ("'single $X'", ("single $X",), False),
        ('"double \\"q\\""', ('double "q"',), False),
        ('"$HOME/x"', (), True),
        ("a\\ b", ("a b",), False),
        ("{a,b}.py", ("a.py", "b.py"), False),
        ("x{1..3}", ("x1", "x2", "x3"), False),
        ("'{a,b}'", ("{a,b}",), False),
        ("${X}", (), True),
        ("$", ("$",), False),
        ("`ls`", (), True),
    ],
)
def test_analyze_word(raw: str, values: tuple[str, ...], dynamic: bool) -> None:
    word = analyze_word(raw)
    assert word.values == values
    assert word.dynamic is dynamic
