"""How long a session waits for its workspace, next to a plain `git clone`.

    python -m bench.workspace [--commits 5000] [--repeat 5]

Generates a repository with `git fast-import`, serves it over smart HTTP on loopback with token
auth (the test server from tests/runner), then measures (a) a fresh `git clone`, (b) the first
session's preparation (mirror created + worktree) and (c) a later session's preparation after
one new upstream commit (mirror fetched + worktree). Prints medians and ratios to (a).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from runner.workspace import GitAuth, MirrorCache, prepare_worktree, run_git
from tests.runner.test_workspace_server import GitHttpServer

BENCH_SECRET = "ghs_bench-token"  # noqa: S105 - the test server's token
REPO = "bench/big"
WORDS = (
    "alpha", "beta", "gamma", "delta", "widget", "render", "parse", "token", "session", "branch",
    "commit", "mirror", "worktree", "request", "response", "handler", "config", "value",
    "result", "error", "retry", "limit", "queue", "worker", "event", "issue",
)  # fmt: skip


def _line(rng: random.Random) -> bytes:
    indent = "    " * rng.randint(0, 3)
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 10)))
    return f"{indent}{words}  # {rng.randint(0, 99999)}\n".encode()


def _paths(rng: random.Random, count: int) -> list[str]:
    kinds = [("src", ".py", 0.6), ("tests", ".py", 0.2), ("docs", ".md", 0.1), ("web", ".ts", 0.1)]
    paths: set[str] = set()
    while len(paths) < count:
        top, ext = next((t, e) for t, e, _ in rng.choices(kinds, [w for *_, w in kinds]))
        depth = rng.randint(1, 3)
        dirs = [f"{rng.choice(WORDS)}{rng.randint(0, 9)}" for _ in range(depth)]
        paths.add("/".join([top, *dirs, f"{rng.choice(WORDS)}_{len(paths)}{ext}"]))
    return sorted(paths)


def _history(commits: int, files: int, seed: int) -> Iterator[bytes]:
    """A fast-import stream: an initial tree, then commits touching 1-3 files each."""
    rng = random.Random(seed)
    contents = {p: [_line(rng) for _ in range(rng.randint(10, 150))] for p in _paths(rng, files)}
    when = 1_600_000_000
    for mark in range(1, commits + 1):
        when += rng.randint(60, 20_000)
        everything = sorted(contents)
        touched = everything if mark == 1 else rng.sample(everything, rng.randint(1, 3))
        deleted = []
        if mark > 1 and rng.random() < 0.01:
            new = _paths(rng, len(contents) + 1)[-1]
            contents.setdefault(new, [_line(rng) for _ in range(rng.randint(10, 100))])
            touched.append(new)
        if mark > 1 and rng.random() < 0.003 and len(contents) > 10:
            gone = rng.choice(sorted(set(contents) - set(touched)))
            del contents[gone]
            deleted.append(gone)
        message = f"Change {' '.join(rng.sample(WORDS, 3))} (#{mark})\n".encode()
        who = f"Dev {rng.randint(1, 40)} <dev@example.com> {when} +0000\n".encode()
        yield b"commit refs/heads/main\nmark :%d\n" % mark
        yield b"author " + who + b"committer " + who
        yield b"data %d\n%s" % (len(message), message)
        if mark > 1:
            yield b"from :%d\n" % (mark - 1)
        for path in deleted:
            yield f"D {path}\n".encode()
        for path in touched:
            lines = contents[path]
            if mark > 1:
                at = rng.randrange(len(lines) + 1)
                lines[at:at] = [_line(rng) for _ in range(rng.randint(1, 8))]
                if len(lines) > 250:
                    del lines[rng.randrange(len(lines) - 50) :][:50]
                for _ in range(rng.randint(0, 3)):
                    lines[rng.randrange(len(lines))] = _line(rng)
            blob = b"".join(lines)
            yield f"M 100644 inline {path}\n".encode()
            yield b"data %d\n%s\n" % (len(blob), blob)
        yield b"\n"


def generate(bare: Path, commits: int, files: int, seed: int = 1) -> None:
    subprocess.run(["git", "init", "--bare", "--quiet", "-b", "main", str(bare)], check=True)
    # Stored uncompressed and without deltas, fast; the repack below does both properly.
    fast_import = ["git", "-c", "core.compression=0", "fast-import", "--quiet", "--depth=0"]
    process = subprocess.Popen(fast_import, cwd=bare, stdin=subprocess.PIPE)
    assert process.stdin is not None
    for chunk in _history(commits, files, seed):
        process.stdin.write(chunk)
    process.stdin.close()
    if process.wait() != 0:
        raise SystemExit("git fast-import failed")
    # Served repositories are well packed: one pack, deltas searched, objects compressed.
    subprocess.run(["git", "repack", "-a", "-d", "-F", "-q"], cwd=bare, check=True)


def upstream_commit(bare: Path, number: int) -> None:
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=bare, input=f"new upstream change {number}\n", capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    tree = (
        subprocess.run(
            ["git", "ls-tree", "main"], cwd=bare, capture_output=True, text=True, check=True
        ).stdout
        + f"100644 blob {blob}\tUPSTREAM-{number}.txt\n"
    )
    tree_sha = subprocess.run(
        ["git", "mktree"], cwd=bare, input=tree, capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {
        "GIT_AUTHOR_NAME": "Upstream",
        "GIT_AUTHOR_EMAIL": "up@example.com",
        "GIT_COMMITTER_NAME": "Upstream",
        "GIT_COMMITTER_EMAIL": "up@example.com",
    }
    sha = run_git(
        ["commit-tree", tree_sha, "-p", "main", "-m", f"Upstream {number}"], bare, env=env
    ).strip()
    run_git(["update-ref", "refs/heads/main", sha], bare)


def clone(url: str, auth: GitAuth, dest: Path) -> None:
    run_git(["clone", "--quiet", url, str(dest)], dest.parent, auth=auth, protocols=("http",))


def prepare_session(cache: MirrorCache, url: str, auth: GitAuth, dest: Path, issue: int) -> None:
    mirror = cache.update(url, auth)
    prepare_worktree(
        mirror,
        base_branch="main",
        branch=f"autocoder/issue-{issue}",
        existing_branch=False,
        dest=dest,
    )


def timed(action: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workspace", description=__doc__)
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    auth = GitAuth(BENCH_SECRET)

    with tempfile.TemporaryDirectory(prefix="autocoder-bench-") as scratch:
        root = Path(scratch)
        served = root / "served"
        started = time.perf_counter()
        generate(served / f"{REPO}.git", args.commits, args.files)
        generated = time.perf_counter() - started
        bare = served / f"{REPO}.git"
        count = run_git(["rev-list", "--count", "main"], bare).strip()
        tracked = len(run_git(["ls-tree", "-r", "--name-only", "main"], bare).splitlines())
        pack = _size(bare / "objects" / "pack")

        clone_times: list[float] = []
        first_times: list[float] = []
        next_times: list[float] = []
        with GitHttpServer(served, token=BENCH_SECRET) as server:
            url = server.url(REPO)
            for round_ in range(args.repeat):
                work = root / f"round-{round_}"
                work.mkdir()
                clone_times.append(timed(clone, url, auth, work / "clone"))
                cache = MirrorCache(work / "cache")
                first_times.append(timed(prepare_session, cache, url, auth, work / "s1", 1))
                upstream_commit(bare, round_)
                next_times.append(timed(prepare_session, cache, url, auth, work / "s2", 2))
                shutil.rmtree(work)

    a, b, c = (statistics.median(t) for t in (clone_times, first_times, next_times))
    print(
        f"repository: {count} commits, {tracked} files, pack {pack / 2**20:.1f} MiB "
        f"(generated in {generated:.1f} s); median of {args.repeat} rounds, HTTP on loopback"
    )
    print(f"{'':44}{'seconds':>9}{'vs (a)':>9}")
    rows = [
        ("(a) git clone over HTTP", a),
        ("(b) first session: mirror clone + worktree", b),
        ("(c) next session: fetch 1 commit + worktree", c),
    ]
    for label, value in rows:
        print(f"{label:44}{value:9.3f}{value / a:8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
