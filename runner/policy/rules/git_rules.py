"""What `git` may do in a session: local work, yes; pushing, remotes and credentials, never.

These are hard rules, not allowlist entries, so a repository's configuration cannot lift them:
autocoder pushes the branch itself after the session, with a token the session never sees.
Anything that would make git run a program of the caller's choosing (`-c` overrides,
`--exec-path`, `--upload-pack`, `rebase --exec`, `submodule foreach`, hooks and helpers set in
config) is refused too, because that program would escape the command policy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from runner.policy.allowlist import names
from runner.policy.shell_text import Word

__all__ = ["git_dirs", "git_refusal", "git_written"]

_PUSH_REASON = (
    "`git push` is not allowed: autocoder pushes your branch and opens the pull request after "
    "the session. Commit your work (git add, git commit) and finish."
)
_REMOTE_REASON = (
    "changing git remotes is not allowed: autocoder pushes to the repository's own remote after "
    "the session. `git remote -v` and `git remote get-url` are fine."
)
_CREDENTIAL_REASON = "git credential commands are not allowed: the session holds no credentials"

# Global options that take a separate value.
_VALUE_GLOBALS = frozenset({"-C", "--namespace", "--super-prefix", "--list-cmds"})
_FORBIDDEN_GLOBALS = {
    "-c": "`git -c` overrides configuration for one command, which can make git run any "
    "program; run git without it",
    "--config-env": "`git --config-env` overrides configuration, which can make git run any "
    "program; run git without it",
    "--exec-path": "`git --exec-path` changes where git finds its own programs; run git without it",
    "--git-dir": "`--git-dir` points git at another repository; work in the worktree's own",
    "--work-tree": "`--work-tree` points git at another directory; work in the worktree",
}

_REFUSED_SUBCOMMANDS = {
    "push": _PUSH_REASON,
    "send-email": "`git send-email` is not allowed: commands have no network or mail access",
    "send-pack": _PUSH_REASON,
    "http-push": _PUSH_REASON,
    "request-pull": "`git request-pull` is not needed: autocoder opens the pull request",
    "daemon": "`git daemon` is not allowed: commands may not serve the repository",
    "instaweb": "`git instaweb` is not allowed: commands may not start servers",
    "filter-branch": "`git filter-branch` runs shell snippets the policy cannot judge; "
    "rewrite history with `git rebase` or `git commit --amend`",
    "shell": "`git shell` is not allowed",
    "submodule--helper": "`git submodule--helper` is git's internal plumbing (it runs `foreach` "
    "commands); use `git submodule status` or `update`",
    "fast-import": "`git fast-import` is not needed; commit with git add and git commit",
}
_NETWORK = (
    "commands have no network access: autocoder fetched the repository before the session; "
    "work with what is in the worktree"
)
# Subcommands that take a repository location: a URL (or `ext::PROG`) is refused.
_TAKES_REPOSITORY = frozenset({"clone", "fetch", "pull", "ls-remote", "submodule", "archive"})
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::|://|^[^/:]+@[^/:]+:")
# Per subcommand: options whose value is a path git writes.
_WRITE_OPTIONS: dict[str, tuple[str, ...]] = {
    "checkout-index": ("--prefix",),
    "diff": ("--output",),
    "log": ("--output",),
    "show": ("--output",),
    "format-patch": ("-o", "--output-directory", "--output"),
    "archive": ("-o", "--output"),
}

# Per subcommand: options that make git run a program given on the command line.
_PROGRAM_OPTIONS: dict[str, tuple[str, ...]] = {
    "clone": ("-u", "--upload-pack", "-c", "--config", "--template", "--separate-git-dir"),
    "init": ("--template", "--separate-git-dir"),
    "fetch": ("--upload-pack",),
    "pull": ("--upload-pack",),
    "ls-remote": ("--upload-pack",),
    "archive": ("--exec", "--remote"),
    "rebase": ("-x", "--exec"),
    "difftool": ("-x", "--extcmd"),
    "mergetool": ("-x", "--extcmd"),
    "grep": ("-O", "--open-files-in-pager"),
    "submodule": ("foreach",),
    "bisect": ("run",),
    "worktree": ("--git-dir",),
}

# Configuration keys a session may set (names as git compares them: lower case; `*` = any part).
# Everything else is refused: keys such as core.hooksPath, core.sshCommand, core.fsmonitor,
# credential.*, url.*, remote.*, http.*, alias.*, include.*, filter.* make git run programs,
# send credentials, or talk to other places.
_SETTABLE_CONFIG = (
    "user.name",
    "user.email",
    "core.autocrlf",
    "core.eol",
    "core.filemode",
    "core.ignorecase",
    "core.quotepath",
    "core.whitespace",
    "core.safecrlf",
    "commit.gpgsign",
    "tag.gpgsign",
    "init.defaultbranch",
    "pull.rebase",
    "pull.ff",
    "merge.ff",
    "merge.conflictstyle",
    "rebase.autosquash",
    "rebase.autostash",
    "rerere.enabled",
    "diff.renames",
    "diff.algorithm",
    "status.showuntrackedfiles",
    "log.date",
    "advice.*",
    "color.*",
    "column.*",
)
_CONFIG_READ_OPTIONS = names(
    """
    --get --get-all --get-regexp --get-urlmatch --get-color --get-colorbool -l --list
    """
)
_CONFIG_WRITE_OPTIONS = frozenset(
    {"--unset", "--unset-all", "--add", "--replace-all", "--rename-section", "--remove-section"}
)
_CONFIG_FORBIDDEN_OPTIONS = {
    "--global": "writes the user's global configuration",
    "--system": "writes the system configuration",
    "--file": "reads or writes another configuration file",
    "-f": "reads or writes another configuration file",
    "--blob": "reads configuration from elsewhere",
    "--worktree": "writes the worktree's configuration",
    "--edit": "opens an editor",
    "-e": "opens an editor",
    "--includes": "follows include directives",
}
_CONFIG_VALUE_OPTIONS = frozenset({"--type", "--default", "--comment", "--value", "--url"})
_CONFIG_SUBCOMMANDS = frozenset(
    {"get", "list", "set", "unset", "rename-section", "remove-section", "edit"}
)
_SECTION = re.compile(r"^[A-Za-z0-9.*_-]+$")


def _literal(word: Word) -> str | None:
    return word.literal


def git_refusal(args: Sequence[Word]) -> tuple[str | None, Sequence[Word]]:
    """Judge `git ARGS` (without the word `git`).

    Returns a refusal reason (or None) and the words after the subcommand, for path checks.
    `-C DIR` is returned as part of those words' context by the caller (see `git_dirs`).
    """
    i = 0
    while i < len(args):
        value = _literal(args[i])
        if value is None:
            return "git's options and subcommand must be written out literally", ()
        if not value.startswith("-"):
            break
        name = value.split("=", 1)[0]
        if name in _FORBIDDEN_GLOBALS or (value.startswith("-c") and value != "-C"):
            return _FORBIDDEN_GLOBALS.get(name, _FORBIDDEN_GLOBALS["-c"]), ()
        i += 2 if name in _VALUE_GLOBALS and "=" not in value else 1
    if i >= len(args):
        return None, ()
    subcommand = _literal(args[i])
    rest = args[i + 1 :]
    if subcommand is None:
        return "git's subcommand must be written out literally", ()
    if subcommand in _REFUSED_SUBCOMMANDS:
        return _REFUSED_SUBCOMMANDS[subcommand], ()
    if subcommand.startswith("credential"):
        return _CREDENTIAL_REASON, ()
    if subcommand.startswith("remote-"):
        return _REMOTE_REASON, ()
    literal_rest = [_literal(word) for word in rest]
    if subcommand == "remote":
        return _remote_refusal(literal_rest), rest
    if subcommand == "config":
        return _config_refusal(literal_rest), ()
    if subcommand == "subtree" and literal_rest[:1] != ["split"]:
        return "`git subtree` may only `split`: adding, pulling and pushing use the network", ()
    for value in literal_rest:
        if value is None:
            continue
        option = _matches(value, _PROGRAM_OPTIONS.get(subcommand, ()))
        if option is not None:
            return (
                f"`git {subcommand} {option}` makes git run a program or use files from "
                "elsewhere, which the policy cannot judge; run the steps yourself",
                (),
            )
        if subcommand in _TAKES_REPOSITORY and _URL.search(value) and not value.startswith("-"):
            return f"`git {subcommand} {value}`: {_NETWORK}", ()
    return None, rest


def _matches(value: str, options: Sequence[str]) -> str | None:
    """Which of `options` the argument `value` gives, the way git reads options: a long option
    by any prefix (`--upload-pa=x` is `--upload-pack=x`), a short one inside a cluster (`-ix`)."""
    if value == "--" or not value.startswith("-"):
        return value if value in options else None
    if value.startswith("--"):
        name = value.split("=", 1)[0]
        for option in options:
            if option.startswith("--") and len(name) >= 3 and option.startswith(name):
                return option
        return None
    for option in options:
        if len(option) == 2 and option[0] == "-" and option[1] in value[1:]:
            return option
    return None


def git_written(args: Sequence[Word]) -> list[Word]:
    """The paths a git command line writes through options (`--output=F`, `--prefix=D/`)."""
    i = 0
    while i < len(args):
        value = args[i].literal
        if value is None or not value.startswith("-"):
            break
        name = value.split("=", 1)[0]
        i += 2 if name in _VALUE_GLOBALS and "=" not in value else 1
    if i >= len(args):
        return []
    options = _WRITE_OPTIONS.get(args[i].literal or "", ())
    rest = args[i + 1 :]
    written: list[Word] = []
    for index, word in enumerate(rest):
        value = word.literal
        if value is None or value == "--":
            if value == "--":
                break
            continue
        option = _matches(value, options)
        if option is None or not value.startswith("-"):
            continue
        if "=" in value:
            written.append(Word(value, (value.split("=", 1)[1],), False))
        elif value.startswith("--") or value == option:
            if index + 1 < len(rest):
                written.append(rest[index + 1])
        else:
            attached = value[value.index(option[1]) + 1 :]
            if attached:
                written.append(Word(value, (attached,), False))
            elif index + 1 < len(rest):
                written.append(rest[index + 1])
    return written


def git_dirs(args: Sequence[Word]) -> list[Word]:
    """The `-C DIR` arguments of a git command line (directories git changes into)."""
    dirs: list[Word] = []
    i = 0
    while i < len(args):
        value = args[i].literal
        if value is None or not value.startswith("-"):
            break
        if value == "-C" and i + 1 < len(args):
            dirs.append(args[i + 1])
        name = value.split("=", 1)[0]
        i += 2 if name in _VALUE_GLOBALS and "=" not in value else 1
    return dirs


def _remote_refusal(rest: Sequence[str | None]) -> str | None:
    words = [w for w in rest if w not in ("-v", "--verbose")]
    if not words or words[0] in ("show", "get-url"):
        return None
    return _REMOTE_REASON


def _config_refusal(rest: Sequence[str | None]) -> str | None:
    if any(value is None for value in rest):
        return "`git config` arguments must be written out literally"
    values = [value for value in rest if value is not None]
    positionals: list[str] = []
    reading = False
    writing = False
    i = 0
    while i < len(values):
        value = values[i]
        name = value.split("=", 1)[0]
        if value.startswith("-") and not value.startswith("--") and len(value) > 2:
            # `-fFILE`, `-lf FILE`: short options cluster, and take a value from the same word.
            name = next((f"-{c}" for c in value[1:] if f"-{c}" in _CONFIG_FORBIDDEN_OPTIONS), name)
        elif value.startswith("--") and len(name) >= 3:
            name = next((o for o in _CONFIG_FORBIDDEN_OPTIONS if o.startswith(name)), name)
        if name in _CONFIG_FORBIDDEN_OPTIONS:
            return (
                f"`git config {name}` is not allowed: it {_CONFIG_FORBIDDEN_OPTIONS[name]}; "
                "only the repository's own settings may be read or changed"
            )
        if name in _CONFIG_READ_OPTIONS:
            reading = True
        elif name in _CONFIG_WRITE_OPTIONS:
            writing = True
        elif name in _CONFIG_VALUE_OPTIONS and "=" not in value:
            i += 1
        elif not value.startswith("-"):
            positionals.append(value)
        i += 1
    if positionals and positionals[0] in _CONFIG_SUBCOMMANDS:
        subcommand, positionals = positionals[0], positionals[1:]
        if subcommand == "edit":
            return "`git config edit` opens an editor; set single keys instead"
        reading = subcommand in ("get", "list")
        writing = not reading
    elif not reading and not writing:
        # Legacy form: `git config KEY` reads, `git config KEY VALUE` writes.
        writing = len(positionals) >= 2
    if not writing:
        return None
    keys = positionals[:1]
    if not keys:
        return None
    key = keys[0]
    if _settable(key):
        return None
    return (
        f"changing git config `{key}` is not allowed (it can make git run programs, use "
        "credentials or talk to other places); only these keys may be changed: "
        + ", ".join(_SETTABLE_CONFIG)
    )


def _settable(key: str) -> bool:
    key = key.lower()
    if not _SECTION.match(key):
        return False
    for pattern in _SETTABLE_CONFIG:
        if pattern.endswith(".*"):
            if key.startswith(pattern[:-1]) and key.count(".") == 1:
                return True
        elif key == pattern:
            return True
    return False
