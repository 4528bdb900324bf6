"""A cache of bare mirrors, one per repository, shared by all sessions on this machine.

The first session for a repository fetches everything; later ones fetch only what is new.
Branch heads of the remote are kept as remote-tracking refs (`refs/remotes/origin/*`), not as
`refs/heads/*`: the local branches of the mirror belong to the sessions' worktrees, and a
`+refs/heads/*:refs/heads/*` fetch would both refuse to run while another session has one of
those branches checked out and, with `--prune`, delete a session's branch that is not pushed yet.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

from runner.workspace.errors import UnsupportedUrl
from runner.workspace.git import run_git
from runner.workspace.git_auth import GitAuth, reject_credentials_in_url
from runner.workspace.lock import mirror_lock

CACHE_DIR_VARIABLE = "AUTOCODER_CACHE_DIR"
REMOTE = "origin"
FETCH_REFSPEC = f"+refs/heads/*:refs/remotes/{REMOTE}/*"


def default_cache_dir() -> Path:
    """`$AUTOCODER_CACHE_DIR`, else `~/.cache/autocoder`."""
    configured = os.environ.get(CACHE_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "autocoder"


def _component(text: str) -> str:
    """One path component, safe on disk and distinct for distinct inputs (percent-encoding)."""
    encoded = quote(text, safe="-_.")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    return encoded


def mirror_relpath(clone_url: str) -> PurePosixPath:
    """Where the mirror of `clone_url` lives under the cache: `<host>/<owner>/<repo>.git`.

    `https://github.com/Owner/Repo.git` → `github.com/Owner/Repo.git`; a port becomes
    `host_port`; `file:///srv/x/repo` → `file/srv/x/repo.git`. Raises `UnsupportedUrl`.
    """
    parts = urlsplit(clone_url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https", "file"):
        reject_credentials_in_url(clone_url)
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise UnsupportedUrl(f"clone URL {clone_url!r} has no host")
        host = parts.hostname.lower() + (f"_{parts.port}" if parts.port else "")
    elif scheme == "file":
        host = "file"
    else:
        raise UnsupportedUrl(f"clone URL {clone_url!r}: only http(s) and file URLs can be mirrored")
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments:
        segments[-1] = segments[-1].removesuffix(".git")
    if not segments or not segments[-1] or any(s in (".", "..") for s in segments):
        raise UnsupportedUrl(f"clone URL {clone_url!r} does not name a repository")
    *owners, name = (_component(segment) for segment in segments)
    return PurePosixPath(_component(host), *owners, f"{name}.git")


class MirrorCache:
    """Bare mirrors under `cache_dir` (default: `default_cache_dir()`), one per clone URL."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir if cache_dir is not None else default_cache_dir()

    @property
    def cache_dir(self) -> Path:
        return self._cache_dir

    def path_for(self, clone_url: str) -> Path:
        """The mirror's directory (it may not exist yet)."""
        return self._cache_dir / "mirrors" / mirror_relpath(clone_url)

    def update(self, clone_url: str, auth: GitAuth, *, timeout: float | None = None) -> Path:
        """Create the mirror of `clone_url` or bring it up to date; return its path.

        Only branch heads are fetched (no tags), into `refs/remotes/origin/*`, pruning branches
        deleted upstream. The URL stored in the mirror is `clone_url` as given (it may not carry
        credentials). Concurrent callers for the same repository take turns.
        """
        mirror = self.path_for(clone_url)
        mirror.parent.mkdir(parents=True, exist_ok=True)
        with mirror_lock(mirror):
            if (mirror / "HEAD").is_file():
                self._fetch_existing(mirror, clone_url, auth, timeout)
            else:
                self._create(mirror, clone_url, auth, timeout)
        return mirror

    def _fetch_existing(
        self, mirror: Path, clone_url: str, auth: GitAuth, timeout: float | None
    ) -> None:
        stored = run_git(
            ["config", "--get", f"remote.{REMOTE}.url"], mirror, git_dir=mirror
        ).strip()
        if stored != clone_url:
            run_git(["remote", "set-url", REMOTE, clone_url], mirror, git_dir=mirror)
        _fetch(mirror, clone_url, auth, timeout)

    def _create(self, mirror: Path, clone_url: str, auth: GitAuth, timeout: float | None) -> None:
        # Built beside its final place and renamed, so a failed first fetch leaves nothing behind.
        staging = mirror.with_name(f"{mirror.name}.tmp-{uuid.uuid4().hex[:12]}")
        try:
            run_git(["init", "--bare", "--quiet", str(staging)], mirror.parent)
            run_git(["remote", "add", REMOTE, clone_url], staging, git_dir=staging)
            run_git(["config", f"remote.{REMOTE}.tagOpt", "--no-tags"], staging, git_dir=staging)
            # Reflogs for the sessions' local branches: a way back to any commit they made.
            run_git(["config", "core.logAllRefUpdates", "always"], staging, git_dir=staging)
            _fetch(staging, clone_url, auth, timeout)
            if mirror.exists():  # a broken leftover (no HEAD): replace it
                shutil.rmtree(mirror)
            staging.rename(mirror)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)


def url_scheme(url: str) -> str:
    """The protocol git uses for `url` (`https`, `http`, `file`), lower case."""
    return urlsplit(url).scheme.lower()


def _fetch(mirror: Path, clone_url: str, auth: GitAuth, timeout: float | None) -> None:
    run_git(
        ["fetch", "--prune", "--no-tags", "--quiet", REMOTE, FETCH_REFSPEC],
        mirror,
        git_dir=mirror,
        protocols=(url_scheme(clone_url),),
        auth=auth,
        timeout=timeout,
    )
