"""Host git distrusts the worktree: attack chains run through the real sandbox (bubblewrap), then
the host's own git steps (commit, status, diff, push to a local bare remote), in both layouts:
the production one (bare mirror + `git worktree`) and a plain clone (`actions/checkout`).

Each chain tries to make host git run a program (a `core.fsmonitor` in a nested repository or
behind a redirected `commondir`, a `.git` file pointing elsewhere, alternates, hooks). A marker
file outside the sandbox would be written if any did; it never is. Every host git gets an
environment without the runner's secrets, and the model's own git still works in the sandbox.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.sandbox import Sandbox
from runner.workspace import (
    GitAuth,
    Identity,
    Worktree,
    open_checkout,
    prepare_worktree,
)
from runner.workspace.nested import exclusion_pathspecs, find_nested_repositories
from runner.workspace.sandbox_git import VIEW_DIR

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap (bwrap) not installed"
)

APP = Identity("autocoder[bot]", "1+autocoder[bot]@users.noreply.github.com")
SECRET_NAME = "AUTOCODER_FAKE_HOST_SECRET"
SECRET = "s3cr3t-host-value-that-must-stay-home"


def git(*args: str, cwd: Path) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "LC_ALL": "C"}
    ident = ["-c", "user.name=Up", "-c", "user.email=up@example.com"]
    done = subprocess.run(
        ["git", *ident, *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


@dataclass
class Setup:
    tree: Worktree
    remote: Path  # a local bare repository to push to
    marker: Path  # written only if a planted program ran on the host
    env_log: Path  # the environment of every host git
    layout: str

    @property
    def url(self) -> str:
        return self.remote.as_uri()

    def sandbox(self) -> Sandbox:
        return Sandbox(self.tree.path)

    def run(self, command: str) -> str:
        result = self.sandbox().run(command)
        assert result.sandboxed
        return result.output

    def host_steps(self) -> tuple[str | None, tuple[str, ...]]:
        """What the session does after the model: status, diff, commit, push, then remove."""
        self.tree.has_changes()
        self.tree.changed_files()
        committed = self.tree.commit_all(
            "Session work", author=APP, co_authors=[], session_id="boundary"
        )
        self.tree.changed_files()
        self.tree.commits_since_base()
        if committed.sha is not None:
            self.tree.push(self.url, GitAuth(None))
        return committed.sha, committed.excluded_nested

    def pushed_files(self) -> dict[str, str]:
        """path → mode of every entry on the pushed branch."""
        out = git("ls-tree", "-r", "--full-tree", self.tree.branch, cwd=self.remote)
        entries = {}
        for line in out.splitlines():
            meta, _, path = line.partition("\t")
            entries[path] = meta.split()[0]
        return entries


@pytest.fixture(params=["worktree", "clone"])
def setup(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Setup]:
    seed = tmp_path / "seed"
    seed.mkdir()
    git("init", "-q", "-b", "main", cwd=seed)
    (seed / "README.md").write_text("# seed\n")
    git("add", ".", cwd=seed)
    git("commit", "-qm", "base commit", cwd=seed)
    remote = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(seed), str(remote), cwd=tmp_path)

    if request.param == "worktree":
        mirror = tmp_path / "cache" / "mirrors" / "example" / "repo.git"
        mirror.parent.mkdir(parents=True)
        git("clone", "-q", "--bare", str(seed), str(mirror), cwd=tmp_path)
        git("update-ref", "refs/remotes/origin/main", "main", cwd=mirror)
        tree = prepare_worktree(
            mirror,
            base_branch="main",
            branch="autocoder/issue-9",
            existing_branch=False,
            dest=tmp_path / "work" / "w1" / "work",
        )
    else:
        clone = tmp_path / "checkout"
        git("clone", "-q", str(seed), str(clone), cwd=tmp_path)
        git("checkout", "-q", "-b", "autocoder/issue-9", cwd=clone)
        tree = open_checkout(clone)

    # Every host git goes through a wrapper that records its environment.
    real_git = shutil.which("git")
    assert real_git is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env_log = tmp_path / "host-git-env.log"
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\nenv >> "{env_log}"\nexec "{real_git}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(SECRET_NAME, SECRET)
    yield Setup(tree, remote, tmp_path / "marker", env_log, request.param)
    tree.remove()


def fsmonitor_config(marker: Path) -> str:
    """A git config whose fsmonitor, if ever run, writes the environment to `marker`."""
    return f'[core]\n\tfsmonitor = "env > {marker}; false"\n'


def assert_host_untouched(setup: Setup) -> None:
    assert not setup.marker.exists(), "a program planted in the worktree ran on the host"
    recorded = setup.env_log.read_text()
    assert recorded, "host git ran through the recording wrapper"
    assert SECRET not in recorded and SECRET_NAME not in recorded
    assert "GIT_CONFIG_NOSYSTEM=1" in recorded and f"HOME={Path.home()}\n" not in recorded


def git_in_sandbox_py(body: str) -> str:
    """A `python3 -c` command that finds the git dir the sandbox shows, then runs `body`."""
    prelude = (
        "import os,pathlib;p=pathlib.Path('.git');"
        "g=pathlib.Path(p.read_text().split(':',1)[1].strip()) if p.is_file() else p;"
    )
    return "python3 -c " + shlex.quote(prelude + body)


# --- the chains --------------------------------------------------------------------------------


def test_chain_1_nested_repository_with_a_hostile_fsmonitor(setup: Setup) -> None:
    marker = setup.marker
    out = setup.run(
        "git init -q sub && git -C sub -c user.name=m -c user.email=m@x commit -q "
        "--allow-empty -m s; printf '[core]\\n\\tfsmonitor = \"env > %s; false\"\\n' "
        f"{shlex.quote(str(marker))} >> sub/.git/config; git add sub; "
        "echo 'inside' > sub/file.txt; echo plain > notes.txt; git status --short"
    )
    assert "sub" in out  # the model's own git saw its nested repository
    sha, excluded = setup.host_steps()
    assert excluded == ("sub",)
    assert sha is not None
    pushed = setup.pushed_files()
    assert "notes.txt" in pushed and not any(p.startswith("sub") for p in pushed)
    assert "160000" not in pushed.values()  # no gitlink
    assert setup.tree.changed_files() == ["notes.txt"]
    assert_host_untouched(setup)


def test_chain_2_commondir_redirected_to_a_worktree_config(setup: Setup) -> None:
    evil = setup.tree.path / "evil"
    (setup.tree.path / "payload.txt").write_text(f"{evil}\n")
    host_gitdir = setup.tree.git_dir
    command = (
        "mkdir -p evil/refs/heads evil/objects && cp -r .git/objects/. evil/objects/ 2>/dev/null;"
        " echo 'ref: refs/heads/main' > evil/HEAD;"
        f" printf '%s' {shlex.quote(fsmonitor_config(setup.marker))} > evil/config;"
        " uniq payload.txt .git/commondir;"
        f" printf '%s\\n' {shlex.quote(str(evil))} > {shlex.quote(str(host_gitdir))}/commondir;"
        " echo plain > notes.txt; true"
    )
    setup.run(command)
    if setup.layout == "worktree":
        assert (host_gitdir / "commondir").read_text().strip() == "../.."
    else:
        assert not (host_gitdir / "commondir").exists()
    sha, excluded = setup.host_steps()
    assert sha is not None and excluded == ()
    assert "notes.txt" in setup.pushed_files()
    assert_host_untouched(setup)


def test_chain_2_through_python(setup: Setup) -> None:
    body = (
        "d=pathlib.Path('evil');(d/'refs'/'heads').mkdir(parents=True,exist_ok=True);"
        "(d/'objects').mkdir(exist_ok=True);(d/'HEAD').write_text('ref: refs/heads/main\\n');"
        f"(d/'config').write_text({fsmonitor_config(setup.marker)!r});"
        "(g/'commondir').write_text(os.path.abspath('evil'));"
        f"h=pathlib.Path({str(setup.tree.git_dir)!r});"
        'exec(\'try:\\n (h/"commondir").write_text(os.path.abspath("evil"))\\n'
        'except OSError as e:\\n print("host gitdir:",type(e).__name__)\');'
        "pathlib.Path('notes.txt').write_text('plain\\n')"
    )
    setup.run(git_in_sandbox_py(body))
    # Whatever the sandbox showed at that path (nothing, or its own scratch dir), the host's
    # git dir has no commondir.
    assert not (setup.tree.git_dir / "commondir").exists() or setup.layout == "worktree"
    if setup.layout == "worktree":
        assert (setup.tree.git_dir / "commondir").read_text().strip() == "../.."
    sha, _ = setup.host_steps()
    assert sha is not None and "notes.txt" in setup.pushed_files()
    assert_host_untouched(setup)


def test_dotgit_rewritten_to_point_elsewhere(setup: Setup) -> None:
    dotgit = setup.tree.path / ".git"
    before = dotgit.read_bytes() if dotgit.is_file() else None
    out = setup.run(
        "mkdir -p evil && git init -q --bare evil/repo.git && "
        f"printf '%s' {shlex.quote(fsmonitor_config(setup.marker))} >> evil/repo.git/config; "
        "printf 'gitdir: %s\\n' \"$PWD/evil/repo.git\" > .git; echo exit=$?; "
        "python3 -c \"import os; os.replace('evil/repo.git', '.git')\"; echo exit=$?; "
        "rm -rf .git; echo exit=$?; echo plain > notes.txt"
    )
    assert out.count("exit=0") == 0, out
    if before is not None:
        assert dotgit.read_bytes() == before
    else:
        assert dotgit.is_dir() and (dotgit / "HEAD").is_file()
    sha, excluded = setup.host_steps()
    assert sha is not None and "notes.txt" in setup.pushed_files()
    assert excluded == () and "evil/repo.git/config" in setup.pushed_files()  # a bare repo: data
    assert_host_untouched(setup)


def test_alternates_added(setup: Setup) -> None:
    host_objects = setup.tree.git_dir / "objects"
    if setup.layout == "worktree":
        assert setup.tree.mirror is not None
        host_objects = setup.tree.mirror / "objects"
    setup.run(
        'mkdir -p evil/objects && echo "$PWD/evil/objects" >> .git/objects/info/alternates; '
        f'echo "$PWD/evil/objects" >> {shlex.quote(str(host_objects))}/info/alternates; '
        "echo plain > notes.txt"
    )
    assert not (host_objects / "info" / "alternates").exists()
    sha, _ = setup.host_steps()
    assert sha is not None
    assert_host_untouched(setup)


def test_hooks_dropped_into_the_scratch_dir(setup: Setup) -> None:
    hook = f"#!/bin/sh\nenv > {setup.marker}\n"
    host_hooks = (setup.tree.mirror or setup.tree.git_dir) / "hooks"
    out = setup.run(
        f"printf '%s' {shlex.quote(hook)} > .git/hooks/post-commit; echo scratch=$?; "
        f"printf '%s' {shlex.quote(hook)} > {shlex.quote(str(host_hooks))}/post-commit; "
        "echo host=$?; mkdir -p myhooks && "
        f"printf '%s' {shlex.quote(hook)} > myhooks/post-commit && chmod +x myhooks/post-commit; "
        'git config core.hooksPath "$PWD/myhooks"; echo config=$?; echo plain > notes.txt'
    )
    assert "scratch=0" not in out and "host=0" not in out and "config=0" not in out
    assert not (host_hooks / "post-commit").exists()
    sha, _ = setup.host_steps()
    assert sha is not None and "myhooks/post-commit" in setup.pushed_files()
    assert_host_untouched(setup)


def test_nested_dotgit_file_with_a_gitdir_pointer(setup: Setup) -> None:
    setup.run(
        "mkdir -p evil lib && git init -q --bare evil/r.git && "
        f"printf '%s' {shlex.quote(fsmonitor_config(setup.marker))} >> evil/r.git/config && "
        "printf 'gitdir: ../evil/r.git\\n' > lib/.git && echo code > lib/mod.py && "
        "mkdir -p deep/er && ln -s ../../evil/r.git deep/er/.git && echo plain > notes.txt"
    )
    sha, excluded = setup.host_steps()
    assert sha is not None
    assert excluded == ("deep/er", "lib")
    pushed = setup.pushed_files()
    assert "notes.txt" in pushed and "lib/mod.py" not in pushed
    assert "160000" not in pushed.values()
    assert_host_untouched(setup)


# --- the model's own git still works -----------------------------------------------------------


def test_ordinary_git_use_inside_the_sandbox(setup: Setup) -> None:
    base = setup.tree.head_sha()
    out = setup.run(
        "git status --short && echo hi > a.txt && git add a.txt && git diff --cached --stat && "
        "git -c user.name=m -c user.email=m@x commit -qm 'model commit' && "
        "git log --oneline -3 && echo more >> README.md && git diff --stat && git status --short"
    )
    assert "model commit" in out and "base commit" in out, out
    assert "a.txt" in out and "README.md" in out
    # The model's commit lives in the scratch git dir only; the host commits the files.
    assert setup.tree.head_sha() == base
    assert setup.tree.changed_files() == ["README.md", "a.txt"]
    sha, _ = setup.host_steps()
    assert sha is not None
    assert git("rev-parse", f"{sha}^", cwd=setup.remote).strip() == base
    # After the host's commit, the model's git shows the new HEAD and a clean tree.
    assert setup.run("git status --short; git log -1 --format=%s").strip() == "Session work"
    assert (setup.tree.git_dir / VIEW_DIR).is_dir()
    assert_host_untouched(setup)


def test_host_git_dir_is_invisible_or_read_only(setup: Setup) -> None:
    gitdir = setup.tree.git_dir
    out = setup.run(f"touch {shlex.quote(str(gitdir))}/planted .git/planted; git symbolic-ref HEAD")
    assert not (gitdir / "planted").exists()
    assert "refs/heads/autocoder/issue-9" in out


# --- pure parts --------------------------------------------------------------------------------


def test_find_nested_repositories(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "a" / "b" / ".git").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c" / ".git").mkdir(parents=True)  # below a nested one: not looked at
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / ".git").write_text("gitdir: /elsewhere\n")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / ".git").symlink_to("/nonexistent")
    (tmp_path / "u" / ".GIT").mkdir(parents=True)
    (tmp_path / "plain" / "dir").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "a")  # not followed
    assert find_nested_repositories(tmp_path) == ["a/b", "f", "s", "u"]
    assert exclusion_pathspecs(["a/b", "x*"]) == [
        ".",
        ":(exclude,literal)a/b",
        ":(exclude,literal)x*",
    ]
