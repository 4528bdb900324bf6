"""Which command names may run, which never may, and which variables may not be set.

The default allowlist follows the original AutoCoder's bash allowlist (file inspection, git,
node/npm, python) widened to what a coding session on an arbitrary repository needs: build and
test tools, simple text tools and the shell builtins that only steer the shell itself.

Interpreters and build tools (python, node, npm, make, pytest, awk, sed, ...) can do anything a
program can do. The policy cannot see inside them and does not pretend to: for those, the wall is
the sandbox (no network, read-only system, a cleared environment with no secrets). The policy's
job is to keep the commands the model writes inside the worktree, to refuse what is never needed
(pushing, changing remotes or credentials, privilege, fetching code to run), and to say why.
"""

from __future__ import annotations

import re

__all__ = [
    "DEFAULT_ALLOWED_COMMANDS",
    "HARD_REFUSED_COMMANDS",
    "hint_for",
    "names",
    "protected_variable_reason",
]


def names(text: str) -> frozenset[str]:
    """The whitespace-separated names in `text` (keeps long name lists readable)."""
    return frozenset(text.split())


_INSPECTION = names(
    """
    ls cat head tail wc grep egrep fgrep rg find tree sort uniq diff cmp comm tr cut paste
    join nl tac rev column fold fmt od xxd hexdump file stat du df realpath readlink
    basename dirname md5sum sha1sum sha256sum jq
    """
)
_TEXT_AND_FILES = names(
    """
    sed awk gawk mawk echo printf cp mv ln mkdir rm rmdir touch chmod tee truncate xargs tar
    gzip gunzip zip unzip patch
    """
)
# Builtins that steer the shell. cd is checked to stay in the worktree; export/read/printf -v
# may not set PATH and friends (see protected_variable_reason).
_SHELL = names(
    """
    cd pushd popd pwd export unset set exit wait read shift true false test [ : type
    command which env printenv timeout nice nohup sleep seq date expr uname whoami id
    umask
    """
)
# Toolchains: git; Python; JavaScript/TypeScript; make, Rust, Go; and the shell itself (whose
# `-c` string is judged like any command line).
_TOOLCHAINS = names(
    """
    git python python3 pip pip3 pytest ruff mypy black isort flake8 pylint tox nox uv
    poetry coverage node npm npx yarn pnpm tsc eslint prettier jest vitest make cargo
    rustc go gofmt bash sh
    """
)

DEFAULT_ALLOWED_COMMANDS: frozenset[str] = frozenset(
    _INSPECTION | _TEXT_AND_FILES | _SHELL | _TOOLCHAINS
)

# Never allowed, whatever a repository's configuration adds: each defeats the policy's ability to
# know what runs (eval, source, exec, aliases, traps, loadable builtins), or asks for privilege.
HARD_REFUSED_COMMANDS: dict[str, str] = {
    "eval": "`eval` runs a string built at run time, which the policy cannot judge; "
    "write the command out directly",
    "exec": "`exec` replaces the shell or rewires its file descriptors; run the command directly",
    "source": "`source` runs a file's commands inside this shell where the policy cannot see "
    "them; run it as `bash FILE`, or for a virtualenv call `.venv/bin/python` directly",
    ".": "`.` (source) runs a file's commands inside this shell where the policy cannot see "
    "them; run it as `bash FILE`, or for a virtualenv call `.venv/bin/python` directly",
    "alias": "`alias` changes what a command name means; write the command out",
    "unalias": "`unalias` changes what a command name means; write the command out",
    "trap": "`trap` runs a string later, where the policy cannot judge it",
    "enable": "`enable` loads or changes shell builtins",
    "builtin": "`builtin` is not needed; call the command directly",
    "hash": "`hash` changes which program a command name runs",
    "coproc": "`coproc` is not supported; run the command directly",
    "sudo": "`sudo` is not available: commands cannot gain privileges; run it without sudo",
    "su": "`su` is not available: commands cannot change user or gain privileges",
    "doas": "`doas` is not available: commands cannot gain privileges; run it without doas",
    "pkexec": "`pkexec` is not available: commands cannot gain privileges",
    "chroot": "`chroot` is not available: commands run in the worktree",
    "unshare": "`unshare` is not available: the runner already isolates commands",
    "nsenter": "`nsenter` is not available: the runner already isolates commands",
}

_NETWORK_TOOLS = names(
    """
    curl wget ssh scp sftp rsync nc ncat netcat socat telnet ftp ping dig nslookup host gh hub
    """
)


def hint_for(name: str) -> str:
    """Extra advice for a command that is not on the allowlist, or ""."""
    if name in _NETWORK_TOOLS:
        return (
            " Commands have no network access in this session; work with what is in the "
            "worktree (autocoder pushes the branch and opens the pull request itself)."
        )
    if name in ("kill", "pkill", "killall"):
        return " Each command's processes are stopped when it ends; there is nothing to kill."
    return ""


# Variables that decide which program a name runs, inject code into every program, or redirect
# git: setting them would let a later, allowed-looking command mean something else.
_PROTECTED_NAMES = names(
    """
    PATH HOME IFS CDPATH ENV BASH_ENV SHELLOPTS BASHOPTS PS4 PROMPT_COMMAND GLOBIGNORE
    PYTHONSTARTUP NODE_OPTIONS PERL5OPT
    """
)
_PROTECTED_PREFIXES = ("LD_", "DYLD_", "GIT_", "BASH_")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def protected_variable_reason(name: str) -> str | None:
    """Why a command may not set variable `name`, or None when it may."""
    if not _NAME.match(name):
        return f"`{name}` is not a valid variable name"
    if name in _PROTECTED_NAMES or name.startswith(_PROTECTED_PREFIXES):
        if name == "PATH":
            return (
                "setting PATH is not allowed (it changes which program a command name runs); "
                "call the program by its path instead, e.g. `node_modules/.bin/jest` or "
                "`.venv/bin/pytest`"
            )
        return (
            f"setting `{name}` is not allowed: it changes which program runs or injects code "
            "into every program; run the command without it"
        )
    return None
