"""Run one git command; the only place in the workspace that starts a process."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from runner.workspace.errors import GitAuthError, GitError
from runner.workspace.git_auth import GitAuth

# Variables inherited from a parent git (a hook, an Action step) that would point this command at
# another repository, merge unrelated configuration, or trace HTTP headers to stderr.
_DROPPED_VARIABLES = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CURL_VERBOSE",
        "GIT_QUARANTINE_PATH",
    }
)
_DROPPED_PREFIXES = ("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_", "GIT_TRACE")

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


def git_argv(args: Sequence[str]) -> list[str]:
    """The argv that `run_git` executes for `args` (tests assert no secret is in it)."""
    return ["git", *args]


def git_env(auth: GitAuth | None = None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for one git command: ours, minus stray git variables, plus auth and `env`.

    Messages are in the C locale so that failures can be recognised.
    """
    result = {
        key: value
        for key, value in os.environ.items()
        if key not in _DROPPED_VARIABLES and not key.startswith(_DROPPED_PREFIXES)
    }
    result["LC_ALL"] = "C"
    result["LANGUAGE"] = "C"
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
    auth: GitAuth | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float | None = None,
) -> str:
    """Run `git <args>` in `cwd` and return its stdout.

    `auth` adds the token's HTTP header for this command only; `env` adds variables for this
    command only (os.environ is never changed). Raises `GitAuthError` when the remote refused the
    credentials, `GitError` for any other failure or a timeout; their texts are redacted.
    The process gets its own process group, killed as a whole on timeout.
    """
    argv = git_argv(args)
    secrets = auth.redactions() if auth is not None else ()
    started = time.monotonic()
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=git_env(auth, env),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(
                input.encode() if input is not None else None, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            raise GitError(
                [redact(arg, secrets) for arg in argv],
                None,
                redact(f"no answer within {timeout} s\n" + err.decode(errors="replace"), secrets),
            ) from None
    stdout = out.decode(errors="surrogateescape")
    command = [redact(arg, secrets) for arg in argv]
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
