"""Every allowed case of the adversarial table, run for real: bubblewrap, then host-side git.

One worktree (made by `runner.workspace` from a mirror) serves the whole module and is reset
between cases. After each allowed command runs in `runner.sandbox.Sandbox`, the host does what a
session does (`has_changes`, `changed_files`, `commit_all`), and the test asserts: files outside
the worktree are unchanged and no marker appeared outside it (nothing escaped the sandbox and
nothing ran on the host), and no secret — from the runner's environment or a credential file in
its HOME — shows in the output or in the commit.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.policy import CommandPolicy, judge_command
from runner.sandbox import Sandbox
from runner.workspace import GitAuth, Identity, MirrorCache, Worktree, prepare_worktree, run_git
from tests.runner.policy_cases import MUST_SUCCEED, TABLE

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap (bwrap) not installed"
)

SECRETS = {
    "GITHUB_TOKEN": "ghs_policyTableFakeToken0123456789",
    "ANTHROPIC_API_KEY": "sk-ant-policy-table-fake-key",
    "HARMLESS_LOOKING": "policy-table-secret-under-a-plain-name",
}
HOME_SECRET = "policy-table-secret-in-git-credentials"
ALLOWED = [command for command, allowed, _ in TABLE if allowed]
BOT = Identity("autocoder[bot]", "1+autocoder[bot]@users.noreply.github.com")
FIX_DIFF = """\
--- a/src/app.py
+++ b/src/app.py
@@ -1 +1 @@
-print(1)
+print(2)
"""
SEED = {
    "README.md": "hello\n",
    "names.txt": "b\na\nb\nc\n",
    "files.txt": "README.md\nnames.txt\n",
    "list": "README.md\n",
    "setup.py": "print('setup')\n",
    "src/app.py": "print(1)\n",
    "scripts/test.sh": "echo test\n",
    "fix.diff": FIX_DIFF,
    "notes/log.txt": "log\n",
    "a.txt": "a\n",
    "file.txt": "a\n",
}


@dataclass
class Bench:
    worktree: Worktree
    sandbox: Sandbox
    policy: CommandPolicy
    outside: Path
    markers: list[Path]

    def outside_digest(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(self.outside.rglob("*")):
            digest.update(str(path).encode())
            if path.is_file() and not path.is_symlink():
                digest.update(path.read_bytes())
        return digest.hexdigest()

    def reset(self) -> None:
        root = self.worktree.path
        for entry in root.iterdir():
            if entry.name == ".git":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        run_git(["reset", "--quiet", "--hard", self.worktree.base_sha], root)


def _git(*args: str, cwd: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "LC_ALL": "C"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    base = tmp_path_factory.mktemp("policy-sandbox")
    seed = base / "seed"
    for name, text in SEED.items():
        (seed / name).parent.mkdir(parents=True, exist_ok=True)
        (seed / name).write_text(text)
    _git("init", "-q", "-b", "main", cwd=seed)
    _git("add", ".", cwd=seed)
    _git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "seed", cwd=seed)
    home = base / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".git-credentials").write_text(f"https://x:{HOME_SECRET}@github.com\n")
    (home / ".ssh" / "id_rsa").write_text(HOME_SECRET)
    outside = base / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("untouched\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        for name, value in SECRETS.items():
            patch.setenv(name, value)
        mirror = MirrorCache(base / "cache").update(f"file://{seed}", GitAuth(None))
        tree = prepare_worktree(
            mirror,
            base_branch="main",
            branch="autocoder/issue-9-table",
            existing_branch=False,
            dest=base / "work" / "wt",
        )
        sandbox = Sandbox(tree.path, timeout_s=30)
        markers = [outside / "marker", Path("/tmp") / f"policy-table-marker-{os.getpid()}"]
        yield Bench(tree, sandbox, CommandPolicy.default(tree.path), outside, markers)


def _secrets() -> list[str]:
    return [*SECRETS.values(), HOME_SECRET]


def test_the_table_has_allowed_cases_for_the_sandbox() -> None:
    assert len(ALLOWED) >= 100
    assert set(ALLOWED) >= MUST_SUCCEED


@pytest.mark.parametrize("command", ALLOWED)
def test_allowed_case_is_contained(bench: Bench, command: str) -> None:
    bench.reset()
    assert judge_command(command, bench.policy).allowed
    before = bench.outside_digest()
    result = bench.sandbox.run(command)
    assert result.sandboxed
    if command in MUST_SUCCEED:
        assert result.exit_code == 0, result.output
    # The host-side git steps of a session, on whatever the command left behind.
    bench.worktree.has_changes()
    bench.worktree.changed_files()
    sha = bench.worktree.commit_all("table case", author=BOT, co_authors=(), session_id="t").sha
    committed = run_git(["show", "--format=%B", sha], bench.worktree.path) if sha else ""
    for secret in _secrets():
        assert secret not in result.output
        assert secret not in committed
    assert bench.outside_digest() == before
    for marker in bench.markers:
        assert not marker.exists(), f"{marker} was written: something ran outside the sandbox"


def test_host_git_runs_nothing_a_sandboxed_command_planted(bench: Bench) -> None:
    """Chain 1 of issue #9 through an interpreter the policy allows: a nested repository whose
    config sets core.fsmonitor. The host's session steps must not run it."""
    bench.reset()
    marker = bench.markers[0]
    plant = (
        "git init -q sub && git -C sub commit -q --allow-empty -m s && "
        "python3 -c \"open('sub/.git/config', 'a').write('[core]\\n\\tfsmonitor = "
        f'\\"touch {marker}; false\\"\\n\')" && git add sub'
    )
    assert judge_command(plant, bench.policy).allowed
    bench.sandbox.run(plant)
    assert "fsmonitor" in (bench.worktree.path / "sub" / ".git" / "config").read_text()
    bench.worktree.has_changes()
    bench.worktree.changed_files()
    bench.worktree.commit_all("plant", author=BOT, co_authors=(), session_id="t")
    assert not marker.exists(), "host git ran a program the sandboxed command planted"
