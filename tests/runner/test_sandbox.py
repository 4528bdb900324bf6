"""The sandbox, with real processes and real bubblewrap: network, files, secrets, time, output."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.sandbox import (
    CommandResult,
    Sandbox,
    SandboxMode,
    SandboxStatus,
    SandboxUnavailable,
    clean_environment,
    parse_sandbox_mode,
)
from runner.sandbox.bwrap import bwrap_argv
from runner.workspace.sandbox_git import SANDBOX_GIT_DIR, SANDBOX_OBJECTS, prepare_sandbox_git
from tests.runner.path_without_bwrap import path_without_bwrap

needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap (bwrap) not installed: apt-get install bubblewrap",
)
PY = shlex.quote(sys.executable)
FAKE_SECRETS = {
    "GITHUB_TOKEN": "ghs_fakeInstallationToken0123456789",
    "GH_TOKEN": "ghp_fakePersonalToken0123456789",
    "ANTHROPIC_API_KEY": "sk-ant-api03-fakefakefakefake",
    "OPENAI_API_KEY": "sk-proj-fakefakefakefake",
    "AUTOCODER_WEBHOOK_SECRET": "fake-webhook-secret-value",
    "AWS_SECRET_ACCESS_KEY": "fakeAwsSecretKeyValue",
    "DATABASE_PASSWORD": "fake-db-password-value",
    "SOME_HARMLESS_NAME": "ghs_secretHiddenUnderAHarmlessName",
}


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture()
def worktree(tmp_path: Path) -> Path:
    """A `git worktree` of a bare mirror, as the workspace makes them."""
    seed = tmp_path / "seed"
    seed.mkdir()
    git("init", "-q", "-b", "main", cwd=seed)
    (seed / "README.md").write_text("hello\n")
    git("add", ".", cwd=seed)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init", cwd=seed)
    mirror = tmp_path / "mirror.git"
    git("clone", "-q", "--bare", str(seed), str(mirror), cwd=tmp_path)
    wt = tmp_path / "work" / "wt"
    git("worktree", "add", "-q", "-b", "autocoder/issue-1", str(wt), "main", cwd=mirror)
    return wt


@pytest.fixture()
def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in FAKE_SECRETS.items():
        monkeypatch.setenv(name, value)
    return FAKE_SECRETS


@pytest.fixture()
def listening_server() -> Iterator[int]:
    """A TCP server on loopback in the test process; answers `ok` to anyone who connects."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"ok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def connect_command(port: int) -> str:
    code = (
        f"import socket; s = socket.create_connection(('127.0.0.1', {port}), timeout=3); "
        "print('got', s.recv(2).decode())"
    )
    return f"{PY} -c {shlex.quote(code)}"


def leftover_processes(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            found.append(cmdline)
    return found


def run(sandbox: Sandbox, command: str) -> CommandResult:
    result = sandbox.run(command)
    assert result.command == command
    return result


# --- under bubblewrap ---


@needs_bwrap
def test_bwrap_is_used_and_described(worktree: Path) -> None:
    sandbox = Sandbox(worktree)
    assert sandbox.enabled
    assert sandbox.describe().startswith("bubblewrap: network off, worktree writable")
    result = run(sandbox, "echo hello")
    assert (result.exit_code, result.output, result.sandboxed) == (0, "hello\n", True)


@needs_bwrap
def test_network_is_cut_off(worktree: Path, listening_server: int) -> None:
    command = connect_command(listening_server)
    outside = run(Sandbox(worktree, mode="off"), command)
    assert outside.exit_code == 0 and "got ok" in outside.output  # the server is reachable
    inside = run(Sandbox(worktree), command)
    assert inside.exit_code != 0
    assert "ConnectionRefusedError" in inside.output or "unreachable" in inside.output


@needs_bwrap
def test_network_can_be_turned_on(worktree: Path, listening_server: int) -> None:
    sandbox = Sandbox(worktree, network=True)
    assert "network on" in sandbox.describe()
    result = run(sandbox, connect_command(listening_server))
    assert result.exit_code == 0 and "got ok" in result.output


@needs_bwrap
def test_writes_outside_the_worktree_fail(worktree: Path, tmp_path: Path) -> None:
    sandbox = Sandbox(worktree)
    result = run(sandbox, "touch /usr/autocoder-test-file")
    assert result.exit_code != 0 and "Read-only file system" in result.output
    assert not Path("/usr/autocoder-test-file").exists()
    # /tmp is private: a write there lands in the sandbox's own tmpfs, never on the host.
    outside = tmp_path / "outside.txt"
    result = run(sandbox, f"echo x > {outside} && cat {outside}")
    assert not outside.exists()
    result = run(sandbox, f"echo x > {worktree.parent.parent}/sibling.txt")
    assert not (worktree.parent.parent / "sibling.txt").exists()


@needs_bwrap
def test_writes_inside_the_worktree_work(worktree: Path) -> None:
    result = run(
        Sandbox(worktree), "mkdir -p src && echo 'print(1)' > src/new.py && cat src/new.py"
    )
    assert result.exit_code == 0
    assert (worktree / "src" / "new.py").read_text() == "print(1)\n"


@needs_bwrap
def test_git_works_but_hooks_and_config_are_read_only(worktree: Path) -> None:
    sandbox = Sandbox(worktree)
    result = run(
        sandbox,
        "echo change >> README.md && git status --short && git add README.md "
        "&& git commit -qm 'change' && git log --oneline | wc -l",
    )
    assert result.exit_code == 0, result.output
    assert result.output.split()[-1] == "2"
    # The model's commit lives in the sandbox's scratch git dir; the host's branch is untouched.
    assert git("log", "-1", "--format=%s", cwd=worktree).strip() == "init"
    assert run(sandbox, "git log -1 --format=%s").output.strip() == "change"
    common = Path(git("rev-parse", "--git-common-dir", cwd=worktree).strip())
    common = common if common.is_absolute() else (worktree / common).resolve()
    for target in (common / "hooks" / "pre-commit", common / "config", worktree / ".git"):
        result = run(sandbox, f"echo 'exit 1' >> {target}")
        assert result.exit_code != 0, target
    assert not (common / "hooks" / "pre-commit").exists()
    assert "exit 1" not in (common / "config").read_text()


@needs_bwrap
def test_environment_holds_no_secrets(worktree: Path, secrets_in_env: dict[str, str]) -> None:
    sandbox = Sandbox(worktree)
    for command in ("env", "printenv", "cat /proc/self/environ /proc/1/environ", "set"):
        result = run(sandbox, command)
        assert result.exit_code == 0
        for name, value in secrets_in_env.items():
            assert value not in result.output, (command, name)
        assert "GITHUB_TOKEN" not in result.output
    result = run(sandbox, "echo $HOME; ps -e -o pid= | wc -l")
    home, processes = result.output.split()
    assert home == "/tmp/home"
    assert int(processes) <= 5  # only the sandbox's own processes are visible


@pytest.fixture()
def outside_tmp() -> Iterator[Path]:
    """A scratch directory outside /tmp (which the sandbox replaces with its own anyway)."""
    path = Path(tempfile.mkdtemp(prefix="autocoder-sandbox-test-", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@needs_bwrap
def test_hidden_paths_are_hidden(worktree: Path, outside_tmp: Path) -> None:
    secret_dir = outside_tmp / "app-secrets"
    secret_dir.mkdir()
    (secret_dir / "app.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    secret_file = outside_tmp / "token.txt"
    secret_file.write_text("ghs_filetoken")
    command = f"cat {secret_dir}/app.pem {secret_file}"
    assert "PRIVATE KEY" in run(Sandbox(worktree), command).output  # visible by default
    sandbox = Sandbox(worktree, hidden_paths=[secret_dir, secret_file])
    result = run(sandbox, command)
    assert "PRIVATE KEY" not in result.output and "ghs_filetoken" not in result.output


@needs_bwrap
def test_other_worktrees_are_hidden(outside_tmp: Path) -> None:
    sessions = outside_tmp / "cache" / "worktrees"
    mine = sessions / "repo-a-issue-1"
    theirs = sessions / "repo-b-issue-7"
    mine.mkdir(parents=True)
    theirs.mkdir()
    (theirs / "private.py").write_text("SECRET_ALGORITHM = 42\n")
    command = f"cat {theirs}/private.py; ls {sessions}"
    assert "SECRET_ALGORITHM" in run(Sandbox(mine, mode="off"), command).output
    sandbox = Sandbox(mine)
    assert "SECRET_ALGORITHM" not in run(sandbox, command).output
    assert run(sandbox, f"ls {sessions}").output.split() == ["repo-a-issue-1"]


@needs_bwrap
def test_timeout_kills_the_whole_process_group_under_bwrap(worktree: Path) -> None:
    marker = f"{uuid.uuid4().int % 10_000 + 1000}.{os.getpid() % 1000}1"
    sandbox = Sandbox(worktree, timeout_s=1)
    result = run(sandbox, f"sleep {marker} & sleep {marker}")
    assert result.timed_out and result.exit_code == 124
    assert result.duration_s < 10
    assert leftover_processes(f"sleep {marker}") == []


@needs_bwrap
def test_bwrap_is_there_and_commands_allowed() -> None:
    sandbox = Sandbox(Path.cwd())
    assert sandbox.enabled and sandbox.commands_allowed
    assert sandbox.status.notice() is None  # nothing to warn about


# --- with or without bubblewrap ---


@pytest.fixture(params=["bwrap", "unconfined"])
def sandbox_kind(request: pytest.FixtureRequest) -> bool:
    if request.param == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) not installed: apt-get install bubblewrap")
    return bool(request.param == "bwrap")


def mode_for(sandbox_kind: bool) -> str:
    """bubblewrap required, or the operator's explicit opt-out (`AUTOCODER_SANDBOX=off`)."""
    return "auto" if sandbox_kind else "off"


def test_exit_codes(worktree: Path, sandbox_kind: bool) -> None:
    sandbox = Sandbox(worktree, mode=mode_for(sandbox_kind))
    assert run(sandbox, "true").exit_code == 0
    assert run(sandbox, "exit 3").exit_code == 3
    assert run(sandbox, "false || exit 42").exit_code == 42
    assert run(sandbox, "kill -TERM $$").exit_code == 128 + 15
    assert run(sandbox, "echo out; echo err >&2").output == "out\nerr\n"
    assert run(sandbox, "pwd").output.strip() == str(worktree.resolve())
    assert run(sandbox, "true").sandboxed is sandbox_kind


def test_timeout_kills_background_children(worktree: Path, sandbox_kind: bool) -> None:
    marker = f"{uuid.uuid4().int % 10_000 + 1000}.{os.getpid() % 1000}2"
    sandbox = Sandbox(worktree, timeout_s=1, mode=mode_for(sandbox_kind))
    result = run(sandbox, f"echo started; sleep {marker} & sleep {marker}")
    assert result.timed_out
    assert result.exit_code == 124
    assert result.output == "started\n"
    assert 0.9 < result.duration_s < 10
    assert leftover_processes(f"sleep {marker}") == []


def test_background_children_end_with_the_command(worktree: Path, sandbox_kind: bool) -> None:
    marker = f"{uuid.uuid4().int % 10_000 + 1000}.{os.getpid() % 1000}3"
    sandbox = Sandbox(worktree, timeout_s=30, mode=mode_for(sandbox_kind))
    result = run(sandbox, f"sleep {marker} & echo left it running")
    assert not result.timed_out and result.exit_code == 0
    assert result.duration_s < 10
    assert leftover_processes(f"sleep {marker}") == []


def test_a_term_ignoring_command_is_killed(worktree: Path, sandbox_kind: bool) -> None:
    sandbox = Sandbox(worktree, timeout_s=1, mode=mode_for(sandbox_kind))
    result = run(sandbox, "trap '' TERM; while true; do sleep 0.1; done")
    assert result.timed_out and result.duration_s < 10


def test_output_is_truncated_with_a_note(worktree: Path, sandbox_kind: bool) -> None:
    sandbox = Sandbox(worktree, output_limit=1000, mode=mode_for(sandbox_kind))
    result = run(sandbox, "echo BEGIN; head -c 200000 /dev/zero | tr '\\0' x; echo; echo END")
    assert result.exit_code == 0
    assert len(result.output) < 1200
    assert result.output.startswith("BEGIN\n") and result.output.endswith("END\n")
    assert "bytes of output omitted (output limit 1000)" in result.output


def test_unconfined_environment_holds_no_secrets(
    worktree: Path, secrets_in_env: dict[str, str]
) -> None:
    sandbox = Sandbox(worktree, mode="off")
    assert not sandbox.enabled and sandbox.commands_allowed
    assert sandbox.describe().startswith("sandbox off (AUTOCODER_SANDBOX=off): commands run")
    assert "UNCONFINED" in sandbox.describe()
    result = run(sandbox, "env; echo HOME=$HOME")
    for value in secrets_in_env.values():
        assert value not in result.output
    home = next(line for line in result.output.splitlines() if line.startswith("HOME="))
    assert home != f"HOME={Path.home()}" and "autocoder-cmd-" in home


# --- fail closed: no bubblewrap, no commands (issue #9, "No bubblewrap, no boundary") ---


@pytest.fixture()
def no_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """This process's PATH with every program but bwrap, as on a machine without bubblewrap."""
    path = path_without_bwrap(tmp_path / "bin-without-bwrap")
    monkeypatch.setenv("PATH", path)
    assert shutil.which("bwrap") is None and shutil.which("bash") is not None
    return path


def runner_environ_command() -> str:
    """Reads this test process's environment through /proc, hex-encoded (past any redaction)."""
    return f"od -An -tx1 /proc/{os.getpid()}/environ | tr -d ' \\n' | head -c 64"


def test_unconfined_commands_reach_the_runners_environment(
    worktree: Path, secrets_in_env: dict[str, str]
) -> None:
    """What `off` means, and why it is never the default: the runner's own environment (with
    its secrets) is readable through /proc, and the network is reachable."""
    result = run(Sandbox(worktree, mode="off"), runner_environ_command())
    assert result.exit_code == 0 and len(result.output) == 64  # readable: hex of the environ


def test_without_bwrap_no_command_runs(
    worktree: Path, no_bwrap: str, secrets_in_env: dict[str, str], listening_server: int
) -> None:
    sandbox = Sandbox(worktree)
    assert not sandbox.enabled and not sandbox.commands_allowed
    assert sandbox.describe().startswith("commands unavailable: no working sandbox (bwrap not")
    assert "apt-get install bubblewrap" in sandbox.describe()
    assert "AUTOCODER_SANDBOX=off" in sandbox.describe()
    marker = worktree / "ran.txt"
    for command in [
        f"touch {marker}",
        runner_environ_command(),
        connect_command(listening_server),
        f"setsid sleep 600 & touch {marker}",
    ]:
        with pytest.raises(SandboxUnavailable, match="no working sandbox"):
            sandbox.run(command)
    assert not marker.exists(), "a command ran without a sandbox"


def test_without_bwrap_off_runs_commands_and_says_so(worktree: Path, no_bwrap: str) -> None:
    sandbox = Sandbox(worktree, mode="off")
    assert sandbox.commands_allowed and sandbox.status.unconfined
    assert "UNCONFINED" in (sandbox.status.notice() or "")
    assert run(sandbox, "echo hi").output == "hi\n"


def test_without_bwrap_a_container_is_the_sandbox(worktree: Path, no_bwrap: str) -> None:
    sandbox = Sandbox(worktree, mode="container")
    assert sandbox.commands_allowed and not sandbox.enabled
    assert "AUTOCODER_SANDBOX=container" in sandbox.describe()
    result = run(sandbox, "echo hi")
    assert (result.output, result.sandboxed) == ("hi\n", False)


@needs_bwrap
def test_a_container_uses_bwrap_when_it_works(worktree: Path) -> None:
    sandbox = Sandbox(worktree, mode="container")
    assert sandbox.enabled and sandbox.status.notice() is None
    assert sandbox.describe().startswith("bubblewrap inside the session's container")
    assert run(sandbox, "true").sandboxed


@needs_bwrap
def test_bwrap_that_does_not_work_fails_closed(
    worktree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken-bin"
    path = path_without_bwrap(broken)
    (broken / "bwrap").write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
    )
    (broken / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", path)
    sandbox = Sandbox(worktree)
    assert not sandbox.commands_allowed
    assert "bwrap does not work here: bwrap: No permissions" in sandbox.describe()


@needs_bwrap
def test_a_setsid_child_does_not_outlive_a_sandboxed_command(worktree: Path) -> None:
    marker = f"{uuid.uuid4().int % 10_000 + 1000}.{os.getpid() % 1000}7"
    result = run(Sandbox(worktree, timeout_s=30), f"setsid sleep {marker} & echo started")
    assert result.exit_code == 0
    time.sleep(0.5)
    assert leftover_processes(f"sleep {marker}") == []


@pytest.mark.parametrize(
    ("mode", "bwrap_problem", "allowed", "unconfined", "notice_has"),
    [
        ("auto", None, True, False, None),
        ("auto", "bwrap not found", False, False, "commands unavailable"),
        ("container", None, True, False, None),
        ("container", "bwrap does not work here", True, True, "the session's container"),
        ("off", "not used", True, True, "UNCONFINED"),
    ],
)
def test_sandbox_status_table(
    mode: str, bwrap_problem: str | None, allowed: bool, unconfined: bool, notice_has: str | None
) -> None:
    status = SandboxStatus(parse_sandbox_mode(mode), bwrap_problem)
    assert (status.commands_allowed, status.unconfined) == (allowed, unconfined)
    notice = status.notice()
    assert (notice is None) is (notice_has is None)
    if notice_has is not None:
        assert notice is not None and notice_has in notice and notice == status.describe()


@pytest.mark.parametrize("text", ["", " AUTO ", "auto"])
def test_sandbox_mode_defaults_to_auto(text: str) -> None:
    assert parse_sandbox_mode(text) is SandboxMode.AUTO


def test_unknown_sandbox_mode_names_the_choices() -> None:
    with pytest.raises(ValueError, match="auto, container, off"):
        parse_sandbox_mode("none")


# --- the environment and the bwrap command line, as data ---


def test_clean_environment_is_an_allowlist() -> None:
    source = {
        "PATH": "/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm",
        "HOME": "/root",
        "PYTHONPATH": "/opt/app",
        "LD_PRELOAD": "/tmp/x.so",
        "GIT_AUTHOR_NAME": "Bot",
        "GIT_DIR": "/elsewhere",
        **FAKE_SECRETS,
        "LC_SNEAKY": "ghp_tokenInAnAllowedName0123",
    }
    env = clean_environment(source, home="/tmp/h", tmpdir="/tmp/t")
    assert env["PATH"] == "/usr/bin:/bin" and env["LANG"] == "en_US.UTF-8"
    assert env["LC_ALL"] == "C.UTF-8" and env["TERM"] == "xterm"
    assert env["HOME"] == "/tmp/h" and env["TMPDIR"] == "/tmp/t"
    assert env["GIT_AUTHOR_NAME"] == "Bot"
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["PAGER"] == "cat"
    for name in ("PYTHONPATH", "LD_PRELOAD", "GIT_DIR", "LC_SNEAKY", *FAKE_SECRETS):
        assert name not in env
    for value in FAKE_SECRETS.values():
        assert value not in env.values()


def test_clean_environment_has_defaults() -> None:
    env = clean_environment({})
    assert env["PATH"] and env["LANG"] == "C.UTF-8" and env["HOME"] == "/tmp/home"


def test_bwrap_argv_layout(worktree: Path) -> None:
    wt = worktree.resolve()
    layout = prepare_sandbox_git(wt)
    assert layout is not None and layout.dotgit == wt / ".git" and layout.pointer is not None
    assert not layout.scratch.is_relative_to(wt) and layout.objects == layout.common / "objects"
    argv = bwrap_argv(["bash", "-c", "true"], bwrap="bwrap", worktree=wt, network=False, git=layout)
    joined = " ".join(argv)
    assert "--unshare-net" in argv and "--unshare-pid" in argv and "--die-with-parent" in argv
    assert "--cap-drop ALL" in joined and "--new-session" in argv
    assert "--ro-bind / /" in joined and "--tmpfs /tmp" in joined
    assert f"--bind {wt} {wt}" in joined
    # the host's git metadata is never bound writable: a scratch git dir stands in for it
    assert f"--bind {layout.common} " not in joined
    assert f"--bind {layout.scratch} {SANDBOX_GIT_DIR}" in joined
    assert f"--ro-bind {layout.objects} {SANDBOX_OBJECTS}" in joined
    assert f"--ro-bind {layout.pointer} {wt / '.git'}" in joined
    # other worktrees next to this one are hidden before this one is bound back
    assert joined.index(f"--tmpfs {wt.parent} ") < joined.index(f"--bind {wt} ")
    assert argv[-4:] == ["--", "bash", "-c", "true"]
    with_network = bwrap_argv(["true"], bwrap="bwrap", worktree=wt, network=True, git=layout)
    assert "--unshare-net" not in with_network


def test_bwrap_argv_without_git(tmp_path: Path) -> None:
    argv = bwrap_argv(["true"], bwrap="bwrap", worktree=tmp_path, network=False, git=None)
    assert f"--bind {tmp_path} {tmp_path}" in " ".join(argv)


@needs_bwrap
def test_plain_clone_git_metadata(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    sandbox = Sandbox(repo)
    result = run(
        sandbox, "echo a > a.txt && git add a.txt && git commit -qm first && git log --oneline"
    )
    assert result.exit_code == 0 and "first" in result.output
    assert run(sandbox, "echo 'exit 1' > .git/hooks/pre-commit").exit_code != 0
    assert run(sandbox, "echo '[core]' >> .git/config").exit_code != 0
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
