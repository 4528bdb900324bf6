"""Run one git command on the host; the only place in the workspace that starts a process.

Host git treats everything in a worktree as data. Each command gets an environment built for it
(never a copy of `os.environ`), configuration only from the repository's own git dir (which the
sandbox cannot write) plus `HOST_GIT_CONFIG`, which turns off every way repository content could
start a program, and, for the commands that work on a repository, an explicit `--git-dir` (and
`--work-tree`), so no `.git` file or directory in the worktree is ever followed.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from runner.workspace.errors import GitAuthError, GitError
from runner.workspace.git_auth import GitAuth

_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

# `-c` settings on every host git command. Command-line configuration wins over any file, and
# git passes it on to any git it starts (GIT_CONFIG_PARAMETERS), a submodule's included.
HOST_GIT_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),  # a nested repository's fsmonitor is a program to run
    ("core.hooksPath", os.devnull),  # no hooks, whatever --no-verify misses (post-checkout...)
    ("core.sshCommand", "false"),
    ("core.askPass", ""),
    ("core.pager", "cat"),
    ("core.editor", "false"),
    ("core.untrackedCache", "false"),
    ("credential.helper", ""),
    ("protocol.allow", "never"),  # remote commands allow their one URL's scheme (`protocols`)
    ("submodule.recurse", "false"),
    ("diff.ignoreSubmodules", "all"),
    ("status.submoduleSummary", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("push.recurseSubmodules", "no"),
    ("gc.auto", "0"),  # no background `git gc`
    ("maintenance.auto", "false"),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
)

# The variables every host git gets, and nothing else from the runner's own environment.
_FIXED_ENV = {
    "LC_ALL": "C",
    "LANGUAGE": "C",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_SYSTEM": os.devnull,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_ATTR_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GCM_INTERACTIVE": "never",
    "GIT_PAGER": "cat",
    "GIT_EDITOR": "false",
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_PROTOCOL_FROM_USER": "0",
}

_AUTH_FAILURE = re.compile(
    r"Authentication failed|terminal prompts disabled|could not read (Username|Password)"
    r"|returned error: 40[13]|HTTP 40[13]",
    re.IGNORECASE,
)
# Defensive: credentials in any shape git might echo back.
_HEADER_VALUE = re.compile(r"(Authorization:\s*\w+\s+)\S+", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(\w+://)[^/@\s]+@")

REDACTED = "***"

log = logging.getLogger(__name__)


def git_argv(
    args: Sequence[str],
    *,
    git_dir: Path | None = None,
    work_tree: Path | None = None,
    protocols: Sequence[str] = (),
) -> list[str]:
    """The argv that `run_git` executes for `args` (tests assert no secret is in it)."""
    argv = ["git"]
    for key, value in HOST_GIT_CONFIG:
        argv += ["-c", f"{key}={value}"]
    for scheme in protocols:
        argv += ["-c", f"protocol.{scheme}.allow=always"]
    if git_dir is not None:
        argv.append(f"--git-dir={git_dir}")
    if work_tree is not None:
        argv.append(f"--work-tree={work_tree}")
    return [*argv, *args]


def git_env(
    auth: GitAuth | None = None,
    env: Mapping[str, str] | None = None,
    *,
    home: str = os.devnull,
) -> dict[str, str]:
    """The whole environment of one host git command, built from nothing.

    PATH (to find git), the C locale (so failures can be recognised), `home` as HOME (an empty
    private directory), no system or global configuration, no prompts; plus `auth`'s variables
    (the token's header, for the command that talks to the remote) and `env` (say, an author).
    """
    result = {"PATH": os.environ.get("PATH") or _DEFAULT_PATH, **_FIXED_ENV}
    result["HOME"] = home
    result["XDG_CONFIG_HOME"] = home
    if auth is not None:
        result.update(auth.env())
    if env:
        result.update(env)
    return result


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` with every secret, every Authorization header value and URL userinfo masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _HEADER_VALUE.sub(rf"\g<1>{REDACTED}", text)
    return _URL_USERINFO.sub(rf"\g<1>{REDACTED}@", text)


def run_git(
    args: Sequence[str],
    cwd: Path,
    *,
    git_dir: Path | None = None,
    work_tree: Path | None = None,
    protocols: Sequence[str] = (),
    auth: GitAuth | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float | None = None,
) -> str:
    """Run `git <args>` in `cwd` and return its stdout.

    `git_dir`/`work_tree` name the repository explicitly (pass them for any repository whose
    files the session could have touched); `protocols` are the URL schemes this one command may
    use (every other is refused). `auth` adds the token's HTTP header for this command only;
    `env` adds variables for this command only (os.environ is never read beyond PATH, nor
    changed). Raises `GitAuthError` when the remote refused the credentials, `GitError` for any
    other failure or a timeout; their texts are redacted. The process gets its own process
    group, killed as a whole on timeout.
    """
    argv = git_argv(args, git_dir=git_dir, work_tree=work_tree, protocols=protocols)
    secrets = auth.redactions() if auth is not None else ()
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="autocoder-git-home-") as home,
        subprocess.Popen(
            argv,
            cwd=cwd,
            env=git_env(auth, env, home=home),
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        ) as process,
    ):
        try:
            out, err = process.communicate(
                input.encode() if input is not None else None, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            raise GitError(
                [redact(arg, secrets) for arg in _shown(argv)],
                None,
                redact(f"no answer within {timeout} s\n" + err.decode(errors="replace"), secrets),
            ) from None
    stdout = out.decode(errors="surrogateescape")
    command = [redact(arg, secrets) for arg in _shown(argv)]
    log.debug(
        "%s: exit %s in %.3f s", " ".join(command), process.returncode, time.monotonic() - started
    )
    if process.returncode == 0:
        return stdout
    stderr = redact(err.decode(errors="replace"), secrets)
    safe_stdout = redact(out.decode(errors="replace"), secrets)
    if _AUTH_FAILURE.search(stderr):
        raise GitAuthError(
            command,
            process.returncode,
            stderr,
            safe_stdout,
            hint="the remote refused the credentials: check that the token is valid, not "
            "expired, and may read (and for a push, write) this repository",
        )
    raise GitError(command, process.returncode, stderr, safe_stdout)


def _shown(argv: Sequence[str]) -> list[str]:
    """`argv` as errors and logs show it: without the fixed `-c` settings (noise)."""
    fixed = {f"{key}={value}" for key, value in HOST_GIT_CONFIG}
    shown: list[str] = []
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "-c" and index + 1 < len(argv) and argv[index + 1] in fixed:
            skip = True
            continue
        shown.append(arg)
    return shown
