"""runner.workspace against real repositories served over smart HTTP on loopback."""

from __future__ import annotations

import base64
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.workspace import (
    BranchInUse,
    CredentialsInUrl,
    GitAuth,
    GitAuthError,
    GitError,
    Identity,
    MirrorCache,
    PushRejected,
    RefNotFound,
    UnsupportedUrl,
    branch_name,
    default_cache_dir,
    prepare_worktree,
    run_git,
)
from runner.workspace.git import git_argv, git_env, redact
from runner.workspace.mirror import mirror_relpath
from tests.runner.test_workspace_server import GitHttpServer

TOKEN = "ghs_S3cr3t-token-value"
REPO = "acme/widgets"
APP = Identity("autocoder[bot]", "123+autocoder[bot]@users.noreply.github.com")
PERSON = Identity("Ada Lovelace", "ada@example.com")


# --- helpers (plain git, independent of the code under test) ---------------------------------


def git(*args: str, cwd: Path) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "LC_ALL": "C"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def upstream_commit(
    bare: Path, branch: str, files: dict[str, str], message: str, *, start: str = "main"
) -> str:
    """Commit `files` onto `branch` of the served bare repository (directly, not over HTTP)."""
    scratch = bare.parent / f"scratch-{os.urandom(4).hex()}"
    ident = ["-c", "user.name=Upstream", "-c", "user.email=up@example.com"]
    heads = git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=bare).split()
    if heads:
        git("clone", "--quiet", str(bare), str(scratch), cwd=bare.parent)
        source = branch if branch in heads else start
        git("checkout", "--quiet", "-B", branch, f"origin/{source}", cwd=scratch)
    else:
        git("init", "--quiet", f"--initial-branch={branch}", str(scratch), cwd=bare.parent)
    for name, text in files.items():
        path = scratch / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git("add", "--all", cwd=scratch)
    git(*ident, "commit", "--quiet", "-m", message, cwd=scratch)
    git("push", "--quiet", str(bare), f"HEAD:refs/heads/{branch}", cwd=scratch)
    sha = git("rev-parse", "HEAD", cwd=scratch).strip()
    subprocess.run(["rm", "-rf", str(scratch)], check=True)
    return sha


def remote_sha(bare: Path, branch: str) -> str:
    return git("rev-parse", f"refs/heads/{branch}", cwd=bare).strip()


def secrets_in(auth: GitAuth) -> tuple[str, ...]:
    return auth.redactions()


def assert_no_secret_under(root: Path, auth: GitAuth) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets_in(auth):
                assert secret.encode() not in data, f"secret found in {path}"


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GitHttpServer]:
    root = tmp_path / "served"
    root.mkdir()
    with GitHttpServer(root, token=TOKEN) as running:
        yield running


@pytest.fixture
def origin(server: GitHttpServer) -> Path:
    bare = server.create_repo(REPO)
    upstream_commit(bare, "main", {"README.md": "# widgets\n", "src/app.py": "print(1)\n"}, "init")
    return bare


@pytest.fixture
def url(server: GitHttpServer, origin: Path) -> str:
    return server.url(REPO)


@pytest.fixture
def auth() -> GitAuth:
    return GitAuth(TOKEN)


@pytest.fixture
def cache(tmp_path: Path) -> MirrorCache:
    return MirrorCache(tmp_path / "cache")


# --- naming -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "title", "expected"),
    [
        (1, "Fix the login bug", "autocoder/issue-1-fix-the-login-bug"),
        (42, "  Add --dry-run flag!!  ", "autocoder/issue-42-add-dry-run-flag"),
        (7, "Crash in Foo.bar() when x..y", "autocoder/issue-7-crash-in-foo-bar-when-x-y"),
        (8, "Café résumé naïve", "autocoder/issue-8-cafe-resume-naive"),
        (9, "Straße Ærøskøbing", "autocoder/issue-9-strasse-aeroskobing"),
        (10, "日本語のタイトル", "autocoder/issue-10"),
        (11, "🚀 Launch 🚀", "autocoder/issue-11-launch"),
        (12, "", "autocoder/issue-12"),
        (13, "---", "autocoder/issue-13"),
        (14, "refs/heads/main.lock", "autocoder/issue-14-refs-heads-main-lock"),
        (15, "@{-1} ~^: ?*[ \\", "autocoder/issue-15-1"),
        (16, "UPPER case MiXeD", "autocoder/issue-16-upper-case-mixed"),
        (
            17,
            "Support configuring the maximum number of concurrent sessions per repository",
            "autocoder/issue-17-support-configuring-the-maximum-number",
        ),
        (18, "a" * 60, "autocoder/issue-18-" + "a" * 40),
        (19, "tab\there\nnewline\x00nul", "autocoder/issue-19-tab-here-newline-nul"),
        (20, "<!-- hidden --> visible\u200b", "autocoder/issue-20-hidden-visible"),
    ],
)
def test_branch_name(number: int, title: str, expected: str, tmp_path: Path) -> None:
    name = branch_name(number, title)
    assert name == expected
    assert len(name.removeprefix(f"autocoder/issue-{number}-")) <= 40
    git("check-ref-format", "--branch", name, cwd=tmp_path)


@pytest.mark.parametrize("number", [0, -3, True])
def test_branch_name_needs_a_positive_issue_number(number: int) -> None:
    with pytest.raises(ValueError):
        branch_name(number, "title")


# --- auth and the git runner ------------------------------------------------------------------


def test_git_auth_puts_the_token_only_in_a_header_variable() -> None:
    auth = GitAuth(TOKEN)
    assert TOKEN not in repr(auth) and TOKEN not in str(auth)
    env = auth.env()
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_ASKPASS"] == ""
    count = int(env["GIT_CONFIG_COUNT"])
    config = [(env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"]) for i in range(count)]
    assert ("credential.helper", "") in config
    header = config[-1]
    assert header[0] == "http.extraHeader"
    encoded = header[1].removeprefix("Authorization: Basic ")
    assert base64.b64decode(encoded).decode() == f"x-access-token:{TOKEN}"
    holding = [key for key, value in env.items() if any(s in value for s in auth.redactions())]
    assert holding == [f"GIT_CONFIG_VALUE_{count - 1}"]


def test_git_auth_without_token_still_never_prompts() -> None:
    auth = GitAuth(None)
    assert repr(auth) == "GitAuth(token=None)"
    assert auth.env() == {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "GCM_INTERACTIVE": "never"}
    with pytest.raises(ValueError):
        GitAuth("")
    with pytest.raises(ValueError):
        GitAuth("abc\r\nX-Evil: 1")


def test_argv_never_holds_the_token(url: str) -> None:
    auth = GitAuth(TOKEN)
    for args in (["fetch", "--prune", "origin"], ["push", "--porcelain", url, "HEAD:x"]):
        argv = git_argv(args)
        assert not any(secret in arg for arg in argv for secret in auth.redactions())
    env = git_env(auth)
    assert env["GIT_CONFIG_COUNT"] == auth.env()["GIT_CONFIG_COUNT"]


def test_git_env_drops_inherited_repository_and_trace_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GIT_DIR", "/elsewhere")
    monkeypatch.setenv("GIT_TRACE_CURL", "1")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.editor")
    env = git_env(None, {"EXTRA": "1"})
    assert {"GIT_DIR", "GIT_TRACE_CURL", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0"}.isdisjoint(env)
    assert env["EXTRA"] == "1" and env["LC_ALL"] == "C"


def test_redact_masks_secrets_headers_and_url_credentials() -> None:
    text = (
        f"token {TOKEN} at https://x-access-token:{TOKEN}@github.com/a/b "
        "Authorization: Basic abcdef=="
    )
    masked = redact(text, (TOKEN,))
    assert TOKEN not in masked and "abcdef" not in masked
    assert "https://***@github.com/a/b" in masked


def test_run_git_raises_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(GitError) as failed:
        run_git(["rev-parse", "--verify", "no-such-ref"], tmp_path)
    assert failed.value.command == ("git", "rev-parse", "--verify", "no-such-ref")
    assert failed.value.returncode == 128
    assert "not a git repository" in failed.value.stderr
    assert "rev-parse" in str(failed.value)


def test_run_git_times_out_on_a_silent_remote(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(GitError) as failed:
            run_git(
                ["ls-remote", f"http://127.0.0.1:{port}/a/b.git"],
                tmp_path,
                protocols=("http",),
                auth=GitAuth(TOKEN),
                timeout=1.5,
            )
    assert time.monotonic() - started < 10
    assert failed.value.returncode is None and "timed out" in str(failed.value)


def test_run_git_allows_only_the_protocols_named(tmp_path: Path) -> None:
    """Host git reaches a remote only through the one URL's scheme it was given."""
    bare = tmp_path / "r.git"
    run_git(["init", "--bare", "--quiet", str(bare)], tmp_path)
    with pytest.raises(GitError) as refused:
        run_git(["ls-remote", bare.as_uri()], tmp_path)
    assert "not allowed" in refused.value.stderr
    run_git(["ls-remote", bare.as_uri()], tmp_path, protocols=("file",))
    with pytest.raises(GitError):
        run_git(["ls-remote", f"ext::sh -c touch% {tmp_path}/x"], tmp_path, protocols=("file",))
    assert not (tmp_path / "x").exists()


def test_run_git_changes_nothing_in_os_environ(tmp_path: Path) -> None:
    before = dict(os.environ)
    run_git(["init", "--quiet", str(tmp_path / "r")], tmp_path, auth=GitAuth(TOKEN))
    assert dict(os.environ) == before


# --- mirror -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clone_url", "expected"),
    [
        ("https://github.com/acme/widgets.git", "github.com/acme/widgets.git"),
        ("https://github.com/acme/widgets", "github.com/acme/widgets.git"),
        ("https://GitHub.com/Acme/Widgets.git/", "github.com/Acme/Widgets.git"),
        ("http://127.0.0.1:8080/acme/widgets.git", "127.0.0.1_8080/acme/widgets.git"),
        ("https://ghe.example.com/git/acme/widgets.git", "ghe.example.com/git/acme/widgets.git"),
        ("https://github.com/acme/.github.git", "github.com/acme/%2Egithub.git"),
        ("https://github.com/acme/we%20ird.git", "github.com/acme/we%2520ird.git"),
        ("file:///srv/repos/widgets", "file/srv/repos/widgets.git"),
    ],
)
def test_mirror_relpath(clone_url: str, expected: str) -> None:
    assert str(mirror_relpath(clone_url)) == expected


@pytest.mark.parametrize(
    ("clone_url", "error"),
    [
        (f"https://x-access-token:{TOKEN}@github.com/acme/widgets.git", CredentialsInUrl),
        ("https://user@github.com/acme/widgets.git", CredentialsInUrl),
        ("git@github.com:acme/widgets.git", UnsupportedUrl),
        ("ssh://git@github.com/acme/widgets.git", UnsupportedUrl),
        ("https://github.com/", UnsupportedUrl),
        ("https://github.com/acme/..", UnsupportedUrl),
    ],
)
def test_mirror_relpath_refuses(clone_url: str, error: type[Exception]) -> None:
    with pytest.raises(error) as refused:
        mirror_relpath(clone_url)
    assert TOKEN not in str(refused.value)


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUTOCODER_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    assert MirrorCache().cache_dir == tmp_path / "c"
    monkeypatch.delenv("AUTOCODER_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "autocoder"


def test_first_update_clones_and_later_updates_fetch(
    cache: MirrorCache, url: str, origin: Path, auth: GitAuth
) -> None:
    mirror = cache.update(url, auth)
    assert mirror == cache.path_for(url)
    assert git("rev-parse", "refs/remotes/origin/main", cwd=mirror).strip() == remote_sha(
        origin, "main"
    )
    assert git("config", "--get", "remote.origin.url", cwd=mirror).strip() == url

    newer = upstream_commit(origin, "main", {"src/app.py": "print(2)\n"}, "second")
    upstream_commit(origin, "feature", {"f.txt": "f\n"}, "feature work")
    git("tag", "v1", "main", cwd=origin)
    assert cache.update(url, auth) == mirror
    assert git("rev-parse", "refs/remotes/origin/main", cwd=mirror).strip() == newer
    assert git("rev-parse", "refs/remotes/origin/feature", cwd=mirror).strip()
    assert git("tag", "--list", cwd=mirror).strip() == ""  # heads only

    git("branch", "-D", "feature", cwd=origin)
    cache.update(url, auth)
    refs = git("for-each-ref", "--format=%(refname)", cwd=mirror).split()
    assert refs == ["refs/remotes/origin/main"]
    assert_no_secret_under(cache.cache_dir, auth)


def test_a_broken_leftover_mirror_is_replaced(
    cache: MirrorCache, url: str, origin: Path, auth: GitAuth
) -> None:
    leftover = cache.path_for(url)
    leftover.mkdir(parents=True)
    (leftover / "junk").write_text("half a mirror\n")
    assert cache.update(url, auth) == leftover
    assert not (leftover / "junk").exists()
    assert git("rev-parse", "refs/remotes/origin/main", cwd=leftover).strip() == remote_sha(
        origin, "main"
    )


def test_wrong_token_fails_fast_without_leaking_it(
    cache: MirrorCache, url: str, server: GitHttpServer
) -> None:
    wrong = "ghs_WRONG-token-0000"
    with pytest.raises(GitAuthError) as refused:
        cache.update(url, GitAuth(wrong))
    error = refused.value
    assert isinstance(error, GitError)
    for text in (str(error), error.stderr, error.stdout, " ".join(error.command)):
        assert wrong not in text and TOKEN not in text
        assert base64.b64encode(f"x-access-token:{wrong}".encode()).decode() not in text
    assert "token" in str(error)  # says what to do
    assert not cache.path_for(url).exists()  # no half-made mirror
    assert [r for r in server.requests if r.authorized] == []

    with pytest.raises(GitAuthError):
        cache.update(url, GitAuth(None))


def test_concurrent_updates_of_one_mirror_both_succeed(
    cache: MirrorCache, url: str, origin: Path, auth: GitAuth
) -> None:
    results: list[Path] = []
    errors: list[BaseException] = []

    def update() -> None:
        try:
            results.append(cache.update(url, auth))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=update) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 3 and len(set(results)) == 1
    git("fsck", "--no-progress", cwd=results[0])
    leftovers = [p.name for p in results[0].parent.iterdir() if ".tmp-" in p.name]
    assert leftovers == []


# --- worktrees --------------------------------------------------------------------------------


def test_new_work_starts_from_the_base_head(
    cache: MirrorCache, url: str, origin: Path, auth: GitAuth, tmp_path: Path
) -> None:
    mirror = cache.update(url, auth)
    branch = branch_name(5, "Add widgets")
    tree = prepare_worktree(
        mirror, base_branch="main", branch=branch, existing_branch=False, dest=tmp_path / "s1"
    )
    assert tree.path == tmp_path / "s1" and tree.branch == branch
    assert tree.base_sha == remote_sha(origin, "main") == tree.head_sha()
    assert git("symbolic-ref", "HEAD", cwd=tree.path).strip() == f"refs/heads/{branch}"
    assert (tree.path / "src" / "app.py").read_text() == "print(1)\n"
    assert not tree.has_changes()
    assert tree.changed_files() == [] and tree.commits_since_base() == []

    dot_git = (tree.path / ".git").read_text()
    assert dot_git.startswith("gitdir: ")
    config = git("config", "--list", "--show-origin", cwd=tree.path)
    for secret in auth.redactions():
        assert secret not in dot_git and secret not in config
    assert_no_secret_under(cache.cache_dir, auth)
    tree.remove()


def test_commit_all_with_trailers_and_the_app_identity(
    cache: MirrorCache, url: str, auth: GitAuth, tmp_path: Path
) -> None:
    mirror = cache.update(url, auth)
    tree = prepare_worktree(
        mirror, base_branch="main", branch="autocoder/issue-5", existing_branch=False,
        dest=tmp_path / "s1",
    )  # fmt: skip
    assert tree.commit_all("nothing", author=APP, co_authors=[PERSON], session_id="s-1").sha is None

    (tree.path / ".gitignore").write_text("*.log\nbuild/\n")
    (tree.path / "debug.log").write_text("noise\n")
    (tree.path / "build").mkdir()
    (tree.path / "build" / "out.bin").write_text("x\n")
    (tree.path / "src" / "app.py").write_text("print('widgets')\n")
    (tree.path / "docs").mkdir()
    (tree.path / "docs" / "new file.md").write_text("hello\n")
    (tree.path / "README.md").unlink()
    assert tree.has_changes()
    assert tree.changed_files() == [".gitignore", "README.md", "docs/new file.md", "src/app.py"]

    before = dict(os.environ)
    sha = tree.commit_all(
        "Add widgets\n\nImplements #5.", author=APP, co_authors=[PERSON], session_id="sess-42"
    ).sha
    assert dict(os.environ) == before
    assert sha is not None and sha == tree.head_sha()
    assert not tree.has_changes()
    body = git("log", "-1", "--format=%B", cwd=tree.path)
    assert body == (
        "Add widgets\n\nImplements #5.\n\n"
        "Co-authored-by: Ada Lovelace <ada@example.com>\n"
        "Autocoder-Session: sess-42\n\n"
    )
    who = git("log", "-1", "--format=%an|%ae|%cn|%ce", cwd=tree.path).strip()
    assert who == f"{APP.name}|{APP.email}|{APP.name}|{APP.email}"
    committed = git("show", "--name-only", "--format=", "HEAD", cwd=tree.path).split("\n")
    assert "debug.log" not in committed and "build/out.bin" not in committed
    assert tree.changed_files() == [".gitignore", "README.md", "docs/new file.md", "src/app.py"]

    (tree.path / "src" / "app.py").write_text("print('more')\n")
    second = tree.commit_all(
        "Tweak\n\nCo-authored-by: Ada Lovelace <ada@example.com>",
        author=APP,
        co_authors=[PERSON, Identity("Bob <b>", "bob@example.com\n")],
        session_id="sess-42",
    ).sha
    body = git("log", "-1", "--format=%B", cwd=tree.path)
    assert body.count("Co-authored-by: Ada Lovelace") == 1
    assert "Co-authored-by: Bob b <bob@example.com>\n" in body
    subjects = [(c.sha, c.subject) for c in tree.commits_since_base()]
    assert subjects == [(sha, "Add widgets"), (second, "Tweak")]
    with pytest.raises(ValueError):
        tree.commit_all("  \n", author=APP, co_authors=[], session_id="s")


def test_push_moves_the_remote_branch_and_a_new_session_picks_it_up(
    cache: MirrorCache, url: str, origin: Path, auth: GitAuth, tmp_path: Path,
    server: GitHttpServer,
) -> None:  # fmt: skip
    branch = branch_name(7, "Widgets")
    mirror = cache.update(url, auth)
    first = prepare_worktree(
        mirror, base_branch="main", branch=branch, existing_branch=False, dest=tmp_path / "s1"
    )
    (first.path / "w.txt").write_text("one\n")
    sha = first.commit_all("One", author=APP, co_authors=[PERSON], session_id="a").sha
    assert first.push(url, auth) == sha == remote_sha(origin, branch)
    assert all(request.authorized for request in server.requests)
    first.remove()
    first.remove()  # idempotent
    assert not first.path.exists()

    # Upstream moves on meanwhile; the follow-up session continues the existing branch.
    main_now = upstream_commit(origin, "main", {"other.txt": "x\n"}, "unrelated")
    mirror = cache.update(url, auth)
    second = prepare_worktree(
        mirror, base_branch="main", branch=branch, existing_branch=True, dest=tmp_path / "s2"
    )
    assert second.head_sha() == sha
    assert second.base_sha == first.base_sha != main_now
    assert [c.subject for c in second.commits_since_base()] == ["One"]
    assert (second.path / "w.txt").read_text() == "one\n"
    (second.path / "w.txt").write_text("two\n")
    again = second.commit_all("Two", author=APP, co_authors=[PERSON], session_id="b").sha
    assert second.push(url, auth) == again == remote_sha(origin, branch)
    assert git("rev-parse", f"{again}~1", cwd=origin).strip() == sha

    config = git("config", "--list", cwd=second.path)
    dot_git = (second.path / ".git").read_text()
    for secret in auth.redactions():
        assert secret not in config and secret not in dot_git
    assert_no_secret_under(cache.cache_dir, auth)
    assert_no_secret_under(second.path, auth)


def test_non_fast_forward_push_is_rejected_and_force_is_a_lease(
    cache: MirrorCache, url: str, origin: Path, auth: GitAuth, tmp_path: Path
) -> None:
    branch = "autocoder/issue-9"
    upstream_commit(origin, branch, {"theirs.txt": "1\n"}, "someone else")
    mirror = cache.update(url, auth)
    tree = prepare_worktree(
        mirror, base_branch="main", branch=branch, existing_branch=False, dest=tmp_path / "s"
    )
    (tree.path / "ours.txt").write_text("1\n")
    tree.commit_all("Ours", author=APP, co_authors=[], session_id="x")
    with pytest.raises(PushRejected) as rejected:
        tree.push(url, auth)
    assert "non-fast-forward" in rejected.value.reason or "fetch first" in rejected.value.reason
    assert TOKEN not in str(rejected.value)

    # The lease names the remote head this session saw; it moved, so even force is refused.
    moved = upstream_commit(origin, branch, {"theirs.txt": "2\n"}, "someone else again")
    with pytest.raises(PushRejected) as stale:
        tree.push(url, auth, force=True)
    assert "stale" in stale.value.reason
    assert remote_sha(origin, branch) == moved

    tree.remove()
    mirror = cache.update(url, auth)
    tree = prepare_worktree(
        mirror, base_branch="main", branch=branch, existing_branch=False, dest=tmp_path / "s2"
    )
    (tree.path / "ours.txt").write_text("2\n")
    sha = tree.commit_all("Ours again", author=APP, co_authors=[], session_id="y").sha
    assert tree.push(url, auth, force=True) == sha == remote_sha(origin, branch)


def test_push_with_a_wrong_token_is_an_auth_error(
    cache: MirrorCache, url: str, origin: Path, auth: GitAuth, tmp_path: Path
) -> None:
    mirror = cache.update(url, auth)
    tree = prepare_worktree(
        mirror, base_branch="main", branch="autocoder/issue-3", existing_branch=False,
        dest=tmp_path / "s",
    )  # fmt: skip
    (tree.path / "a.txt").write_text("a\n")
    tree.commit_all("A", author=APP, co_authors=[], session_id="s")
    wrong = GitAuth("ghs_not-the-right-one")
    with pytest.raises(GitAuthError) as refused:
        tree.push(url, wrong)
    assert "ghs_not-the-right-one" not in str(refused.value)
    with pytest.raises(CredentialsInUrl):
        tree.push(url.replace("http://", f"http://x-access-token:{TOKEN}@"), auth)


def test_branches_checked_out_elsewhere_and_missing_refs(
    cache: MirrorCache, url: str, auth: GitAuth, tmp_path: Path
) -> None:
    mirror = cache.update(url, auth)
    kwargs = {"base_branch": "main", "branch": "autocoder/issue-4"}
    first = prepare_worktree(mirror, existing_branch=False, dest=tmp_path / "a", **kwargs)
    with pytest.raises(BranchInUse):
        prepare_worktree(mirror, existing_branch=False, dest=tmp_path / "b", **kwargs)
    # A session that died without cleaning up: its directory is gone, the branch is free again.
    subprocess.run(["rm", "-rf", str(first.path)], check=True)
    again = prepare_worktree(mirror, existing_branch=False, dest=tmp_path / "c", **kwargs)
    assert again.head_sha() == again.base_sha

    with pytest.raises(RefNotFound):
        prepare_worktree(
            mirror, base_branch="develop", branch="x", existing_branch=False, dest=tmp_path / "d"
        )
    with pytest.raises(RefNotFound):
        prepare_worktree(
            mirror, base_branch="main", branch="nope", existing_branch=True, dest=tmp_path / "e"
        )
    with pytest.raises(ValueError):
        prepare_worktree(
            mirror, base_branch="main", branch="bad..name", existing_branch=False,
            dest=tmp_path / "f",
        )  # fmt: skip


def test_mirror_updates_while_sessions_hold_branches(
    cache: MirrorCache, url: str, origin: Path, auth: GitAuth, tmp_path: Path
) -> None:
    """A live session's branch survives another session's update, pushed or not."""
    mirror = cache.update(url, auth)
    pushed = prepare_worktree(
        mirror, base_branch="main", branch="autocoder/issue-1", existing_branch=False,
        dest=tmp_path / "a",
    )  # fmt: skip
    (pushed.path / "a").write_text("a\n")
    pushed.commit_all("A", author=APP, co_authors=[], session_id="a")
    pushed.push(url, auth)
    local = prepare_worktree(
        mirror, base_branch="main", branch="autocoder/issue-2", existing_branch=False,
        dest=tmp_path / "b",
    )  # fmt: skip
    (local.path / "b").write_text("b\n")
    unpushed = local.commit_all("B", author=APP, co_authors=[], session_id="b").sha

    upstream_commit(origin, "autocoder/issue-1", {"c": "c\n"}, "review fix", start="main")
    cache.update(url, auth)
    assert local.head_sha() == unpushed
    assert git("rev-parse", "refs/heads/autocoder/issue-2", cwd=mirror).strip() == unpushed


def test_no_git_process_sees_the_token_in_its_argv(
    cache: MirrorCache, url: str, auth: GitAuth, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every git that run_git starts goes through a recording wrapper first in PATH."""
    real_git = subprocess.run(["which", "git"], capture_output=True, text=True).stdout.strip()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "argv.log"
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real_git}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    mirror = cache.update(url, auth)
    cache.update(url, auth)
    tree = prepare_worktree(
        mirror, base_branch="main", branch="autocoder/issue-6", existing_branch=False,
        dest=tmp_path / "s",
    )  # fmt: skip
    (tree.path / "x").write_text("x\n")
    tree.commit_all("X", author=APP, co_authors=[PERSON], session_id="s")
    tree.push(url, auth)
    tree.remove()

    recorded = log.read_text()
    assert "fetch" in recorded and "push" in recorded and "commit" in recorded
    for secret in auth.redactions():
        assert secret not in recorded


# --- build debris (issue #17) -----------------------------------------------------------------


def test_build_debris_is_never_staged_unless_the_repository_tracks_such_files(
    cache: MirrorCache, url: str, origin: Path, auth: GitAuth, tmp_path: Path
) -> None:
    mirror = cache.update(url, auth)
    tree = prepare_worktree(
        mirror, base_branch="main", branch="autocoder/issue-6", existing_branch=False,
        dest=tmp_path / "s1",
    )  # fmt: skip
    debris = [
        "src/__pycache__/app.cpython-311.pyc",
        "__pycache__/x.cpython-311.pyc",
        "loose.pyc",
        ".pytest_cache/v/cache/nodeids",
        ".mypy_cache/3.11/app.meta.json",
    ]
    for name in debris:
        (tree.path / name).parent.mkdir(parents=True, exist_ok=True)
        (tree.path / name).write_bytes(b"\x00debris")
    (tree.path / "src" / "app.py").write_text("print(2)\n")
    assert tree.changed_files() == ["src/app.py"]
    sha = tree.commit_all("Change app", author=APP, co_authors=[], session_id="s-6").sha
    assert sha is not None
    assert git("show", "--name-only", "--format=", sha, cwd=tree.path).split() == ["src/app.py"]
    # The rule lives in the host's git dir, never in the worktree or the repository.
    assert not (tree.path / ".gitignore").exists()
    assert "__pycache__/" in (tree.git_dir / "autocoder-exclude").read_text()
    tree.remove()

    # A repository that tracks a .pyc asked for such files: a new one is committed (the other
    # kinds of debris still are not).
    upstream_commit(origin, "main", {"vendor/legacy.pyc": "compiled\n"}, "vendor a pyc")
    mirror = cache.update(url, auth)
    tree = prepare_worktree(
        mirror, base_branch="main", branch="autocoder/issue-6", existing_branch=False,
        dest=tmp_path / "s2",
    )  # fmt: skip
    (tree.path / "vendor" / "other.pyc").write_text("compiled too\n")
    (tree.path / "vendor" / "legacy.pyc").write_text("recompiled\n")
    (tree.path / "src" / "__pycache__").mkdir()
    (tree.path / "src" / "__pycache__" / "app.cpython-311.pyc").write_text("debris\n")
    sha = tree.commit_all("Vendor", author=APP, co_authors=[], session_id="s-7").sha
    assert sha is not None
    committed = git("show", "--name-only", "--format=", sha, cwd=tree.path).split()
    assert committed == ["vendor/legacy.pyc", "vendor/other.pyc"]


def test_bytecode_is_not_written_by_sandboxed_python() -> None:
    from runner.sandbox.environment import clean_environment

    assert clean_environment({})["PYTHONDONTWRITEBYTECODE"] == "1"


# --- resuming the issue's branch (issue #17) --------------------------------------------------


def test_branch_history_tells_autocoders_finished_work_from_a_persons_commits(
    cache: MirrorCache, url: str, origin: Path, auth: GitAuth, tmp_path: Path
) -> None:
    from runner.workspace.resume import read_branch_history

    branch = branch_name(8, "Resume me")
    mirror = cache.update(url, auth)
    history = read_branch_history(mirror, base_branch="main", branch=branch)
    assert history.remote is None and history.local is None

    first = prepare_worktree(
        mirror, base_branch="main", branch=branch, existing_branch=False, dest=tmp_path / "s1"
    )
    (first.path / "w.txt").write_text("one\n")
    wip = first.commit_all("WIP", author=APP, co_authors=[PERSON], session_id="a").sha
    (first.path / "w.txt").write_text("two\n")
    done = first.commit_all(
        "Done", author=APP, co_authors=[PERSON], session_id="b", engine_finished=True
    ).sha
    body = git("log", "-1", "--format=%B", cwd=first.path)
    assert body.endswith("Autocoder-Session: b\nAutocoder-Engine: finished\n\n")
    first.push(url, auth)
    first.remove()

    mirror = cache.update(url, auth)
    history = read_branch_history(mirror, base_branch="main", branch=branch)
    assert history.local is None  # the mirror's branch is where the remote one is
    remote = history.remote
    assert remote is not None and remote.sha == done
    assert [(c.sha, c.sessions, c.engine_finished) for c in remote.commits] == [
        (wip, ("a",), False),
        (done, ("b",), True),
    ]
    assert remote.foreign(APP) == ()
    assert remote.foreign(PERSON) == remote.commits  # another identity: nothing is its

    # Committed here, never pushed (a session killed between its commit and its push).
    second = prepare_worktree(
        mirror, base_branch="main", branch=branch, existing_branch=True, dest=tmp_path / "s2"
    )
    (second.path / "w.txt").write_text("three\n")
    local_sha = second.commit_all(
        "More", author=APP, co_authors=[], session_id="c", engine_finished=True
    ).sha
    second.remove()
    history = read_branch_history(mirror, base_branch="main", branch=branch)
    assert history.local is not None and history.local.sha == local_sha
    assert [c.session for c in history.local.commits] == ["c"]
    resumed = prepare_worktree(
        mirror, base_branch="main", branch=branch, existing_branch=False,
        dest=tmp_path / "s3", start_sha=local_sha,
    )  # fmt: skip
    assert resumed.head_sha() == local_sha and resumed.base_sha == first.base_sha
    assert (resumed.path / "w.txt").read_text() == "three\n"
    resumed.remove()

    # A person pushes to the branch: their commit is foreign, even with a forged trailer.
    person = upstream_commit(
        origin,
        branch,
        {"w.txt": "mine\n"},
        "Mine\n\nAutocoder-Session: x\nAutocoder-Engine: finished",
    )
    mirror = cache.update(url, auth)
    history = read_branch_history(mirror, base_branch="main", branch=branch)
    assert history.remote is not None and history.remote.sha == person
    assert [c.sha for c in history.remote.foreign(APP)] == [person]
    assert history.local is None  # no longer ahead of the remote branch


def test_a_worktree_left_by_a_killed_session_frees_its_branch(
    cache: MirrorCache, url: str, auth: GitAuth, tmp_path: Path
) -> None:
    mirror = cache.update(url, auth)
    branch = "autocoder/issue-9"
    # A session process makes its worktree, commits, and dies without cleaning up.
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from runner.workspace import prepare_worktree, Identity\n"
        "tree = prepare_worktree(Path(sys.argv[1]), base_branch='main', branch=sys.argv[2],\n"
        "    existing_branch=False, dest=Path(sys.argv[3]))\n"
        "(tree.path / 'w.txt').write_text('unpushed\\n')\n"
        "tree.commit_all('WIP', author=Identity('a', 'a@x'), co_authors=[], session_id='k')\n"
        "print(tree.head_sha(), flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    dead = subprocess.run(
        [sys.executable, "-c", script, str(mirror), branch, str(tmp_path / "dead")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert dead.returncode == -9, dead.stderr
    unpushed = dead.stdout.strip()
    assert (tmp_path / "dead" / "w.txt").exists()

    live = prepare_worktree(
        mirror, base_branch="main", branch="autocoder/issue-10", existing_branch=False,
        dest=tmp_path / "live",
    )  # fmt: skip
    again = prepare_worktree(
        mirror, base_branch="main", branch=branch, existing_branch=False,
        dest=tmp_path / "again", start_sha=unpushed,
    )  # fmt: skip
    assert again.head_sha() == unpushed and not (tmp_path / "dead").exists()
    # A living session's worktree is never taken.
    with pytest.raises(BranchInUse):
        prepare_worktree(
            mirror, base_branch="main", branch="autocoder/issue-10", existing_branch=False,
            dest=tmp_path / "thief",
        )  # fmt: skip
    assert live.path.exists()
