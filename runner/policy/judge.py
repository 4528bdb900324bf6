"""Judging one shell command line: every command it would run, every file it would touch.

The command is parsed with bashlex and the whole tree is walked: pipelines, `&&`/`||`/`;`
lists, subshells, `{ }` groups, `if`/`for`/`while`, command and process substitutions, here-
documents and redirections. Each simple command must be on the allowlist, each path it uses must
stay in the worktree (following `cd`), and wrappers that run another command (`env`, `xargs`,
`timeout`, `find -exec`, `bash -c`) have that inner command judged the same way.

Decisions on the edge cases, and why:

- Interpreters (python, node, npm, make, pytest, awk, sed, `bash FILE`, a program from the
  worktree) are allowed. Inside them a program can do anything, so for them the sandbox (no
  network, read-only system, no secrets in the environment) is the wall, not this policy.
- `bash -c STRING` / `sh -c STRING`: the string is judged recursively, like any command line,
  when it is written out literally; a string built at run time is refused. A shell that reads
  its commands from a pipe (`curl x | sh`, `cat x | bash`) is refused: it is the classic way to
  run what the policy never saw, and there is always a plain alternative.
- `eval`, `exec`, `source`/`.`, function definitions, aliases and traps are refused: each makes
  a name or a string mean something the policy cannot see when it judges the line.
- `find -exec CMD {} ;` judges CMD with `{}` standing for a file under find's start paths;
  `find -delete` and `find -exec rm` need a -name/-path filter, so a slip cannot empty the tree.
- `xargs CMD` judges CMD; `xargs rm` (and mv, cp, chmod, ...) is refused, because the paths come
  from its input, which the policy cannot see.
- `env` alone prints the environment, which is harmless: the sandbox clears it to a short
  allowlist with no secrets. `env [NAME=VALUE...] CMD` judges the assignments and CMD.
- The variable in a command's name (`$X args`) is refused; variables in arguments are allowed for
  commands that read, and refused where they would decide what is written or deleted.
- Redirections may write only inside the worktree (or /dev/null, /dev/stdout, /dev/stderr) and
  read only inside it; a `cd` out of the worktree is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bashlex

from runner.policy.allowlist import (
    DEFAULT_ALLOWED_COMMANDS,
    HARD_REFUSED_COMMANDS,
    hint_for,
    names,
    protected_variable_reason,
)
from runner.policy.arguments import ArgSpec, spec_for
from runner.policy.git_rules import git_dirs, git_refusal
from runner.policy.paths import check_path
from runner.policy.shell_text import (
    ShellTextError,
    Word,
    analyze_word,
    heredoc_runs_commands,
    literal_word,
    scan_shell_text,
)
from runner.policy.verdict import Verdict

__all__ = ["CommandPolicy", "judge_command"]

Cwds = frozenset[Path]

_MAX_COMMAND_LENGTH = 200_000
_MAX_NESTING = 3  # bash -c "bash -c '...'" levels
_SYSTEM_BIN_DIRS = frozenset({"/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin"})
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\+?=")
_PARSER_LIMITS = (
    "the policy's parser does not support `case`, `[[ ]]`, `$(( ))`, `time` or `coproc`; "
    "use `test`/`[ ]`, `expr` or a small script run with python"
)
# Commands that change or remove the paths they are given: never fed paths the policy can't see.
_DESTRUCTIVE = frozenset(
    {"rm", "rmdir", "mv", "cp", "chmod", "chown", "ln", "truncate", "tee", "dd", "shred"}
)
_FIND_NAME_TESTS = names(
    """
    -name -iname -path -ipath -wholename -iwholename -regex -iregex -lname -ilname
    """
)
_FIND_VALUE_TESTS = names(
    """
    -newer -anewer -cnewer -samefile -perm -type -xtype -user -group -uid -gid -size -mtime
    -mmin -atime -amin -ctime -cmin -maxdepth -mindepth -links -inum -printf -regextype
    -fstype -used -context
    """
)
_GIT_ARGS = ArgSpec(
    value_opts=names(
        """
        -m --message --author --date -S -G --grep -n --max-count -b -B --format --pretty
        -U --unified --since --until --after --before --committer --onto -X
        --strategy-option -s --strategy --abbrev --depth --shallow-since --sort
        --points-at --contains --merged --no-merged -L --diff-filter --trailer
        """
    ),
    read_opts=frozenset({"-F", "--file"}),
)
_SETUID = re.compile(r"[+=][rwxXtugo]*s")


@dataclass(frozen=True)
class CommandPolicy:
    """What the model's shell commands may do: run allowed commands inside `worktree`."""

    worktree: Path
    allowed_commands: frozenset[str]

    @classmethod
    def default(cls, worktree: Path, extra_commands: Iterable[str] = ()) -> CommandPolicy:
        """The default allowlist, plus `extra_commands` (from the repository's configuration).

        Extra commands cannot lift the hard rules: `eval`, `sudo`, `git push` and the like stay
        refused whatever is added.
        """
        return cls(worktree, DEFAULT_ALLOWED_COMMANDS | frozenset(extra_commands))


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def judge_command(command: str, policy: CommandPolicy) -> Verdict:
    """Whether the model may run `command` (a bash command line) in the worktree, and why not."""
    if not command.strip():
        return Verdict.refuse("the command is empty")
    if len(command) > _MAX_COMMAND_LENGTH:
        return Verdict.refuse(
            f"the command is {len(command)} characters long (limit {_MAX_COMMAND_LENGTH}); "
            "write long content to a file with the file tools instead"
        )
    if "\x00" in command:
        return Verdict.refuse("the command contains a NUL character")
    root = policy.worktree.resolve()
    try:
        _Judge(policy, root, depth=0).text(command, frozenset({root}))
    except _Refused as refused:
        return Verdict.refuse(refused.reason)
    return Verdict.allow()


# --- walking the tree ---------------------------------------------------------------------------


def _children(node: Any) -> Iterable[Any]:
    for attr in ("parts", "list", "redirects"):
        yield from getattr(node, attr, None) or ()
    for attr in ("command", "output", "heredoc"):
        child = getattr(node, attr, None)
        if isinstance(child, bashlex.ast.node):
            yield child


def _count_substitutions(nodes: Iterable[Any]) -> int:
    count = 0
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node.kind in ("commandsubstitution", "processsubstitution"):
            count += 1
        stack.extend(_children(node))
    return count


def _has_process_substitution(node: Any) -> bool:
    return any(
        child.kind == "processsubstitution" or _has_process_substitution(child)
        for child in getattr(node, "parts", None) or ()
    )


class _Judge:
    def __init__(self, policy: CommandPolicy, root: Path, depth: int) -> None:
        self.policy = policy
        self.root = root
        self.depth = depth
        self.source = ""
        self.handlers: dict[str, Callable[[str, list[Word], Cwds], Cwds]] = {
            "cd": self._cd,
            "pushd": self._cd,
            "popd": self._popd,
            "export": self._export,
            "read": self._read,
            "printf": self._printf,
            "env": self._env,
            "timeout": self._timeout,
            "nice": self._nice,
            "nohup": self._nohup,
            "command": self._command,
            "xargs": self._xargs,
            "find": self._find,
            "git": self._git,
            "python": self._python,
            "python3": self._python,
            "node": self._node,
            "bash": self._shell,
            "sh": self._shell,
            "rm": self._rm,
            "rmdir": self._rm,
            "chmod": self._chmod,
            "rg": self._rg,
        }

    # -- text and nodes --

    def text(self, command: str, cwds: Cwds) -> Cwds:
        try:
            scanned = scan_shell_text(command)
        except ShellTextError as error:
            raise _Refused(f"the command could not be parsed: {error}") from None
        if scanned.ansi_c_quoting:
            raise _Refused(
                "$'...' and $\"...\" quoting is not supported by the command policy; "
                "use plain '...' or \"...\" quotes"
            )
        for heredoc in scanned.heredocs:
            if heredoc_runs_commands(heredoc):
                raise _Refused(
                    f"the here-document ending in {heredoc.delimiter} contains $( ) or "
                    f"backquotes, which bash would run; quote its delimiter "
                    f"(<<'{heredoc.delimiter}') to write the text literally"
                )
        try:
            trees = bashlex.parse(scanned.text)
        except Exception as error:  # bashlex raises several types; any failure is a refusal
            raise _Refused(f"the command could not be parsed ({error}); {_PARSER_LIMITS}") from None
        if _count_substitutions(trees) < scanned.substitutions:
            raise _Refused(
                "the command has a command substitution the policy cannot analyse (for example "
                "inside ${...}); run that command as a separate step"
            )
        self.source = scanned.text
        current = cwds
        for tree in trees:  # top-level lines run one after the other, like `;`
            current = current | self.node(tree, current)
        return current

    def node(self, node: Any, cwds: Cwds) -> Cwds:
        kind = node.kind
        if kind == "list":
            return self._sequence(node.parts, cwds)
        if kind == "pipeline":
            for part in node.parts:
                if part.kind not in ("pipe", "reservedword"):
                    self.node(part, cwds)
            return cwds  # each part of a pipeline runs in a subshell: a `cd` there is lost
        if kind == "command":
            return self._simple_command(node, cwds)
        if kind == "compound":
            return self._compound(node, cwds)
        if kind in ("if", "while", "until"):
            after = cwds
            for part in node.parts:
                if part.kind not in ("reservedword", "operator"):
                    after = after | self.node(part, after)
            return after
        if kind == "for":
            return self._for(node, cwds)
        if kind == "function":
            raise _Refused(
                "defining shell functions is not allowed (a function can stand in for an "
                "allowed command); run the commands directly"
            )
        if kind in ("operator", "reservedword", "pipe"):
            return cwds
        raise _Refused(f"the shell construct `{kind}` is not supported; {_PARSER_LIMITS}")

    def _sequence(self, parts: Sequence[Any], cwds: Cwds) -> Cwds:
        """A `;`/`&&`/`||` list. After `a && b`, b runs where a left it; after `;` or `||` the
        shell may be where a started or where it went (a `cd` can fail), so both are checked."""
        current = cwds
        fallback: Cwds = frozenset()
        for index, part in enumerate(parts):
            if part.kind == "operator":
                continue
            following = next((p.op for p in parts[index + 1 :] if p.kind == "operator"), None)
            after = self.node(part, current)
            if following == "&&":
                fallback = fallback | current
                current = after
            else:
                current = current | after | fallback
                fallback = frozenset()
        return current | fallback

    def _compound(self, node: Any, cwds: Cwds) -> Cwds:
        for redirect in getattr(node, "redirects", None) or ():
            self._redirect(redirect, cwds)
        items = node.list
        subshell = bool(items) and items[0].kind == "reservedword" and items[0].word == "("
        after = cwds
        for item in items:
            if item.kind != "reservedword":
                after = self.node(item, after)
        return cwds if subshell else cwds | after

    def _for(self, node: Any, cwds: Cwds) -> Cwds:
        parts = node.parts
        words = [p for p in parts if p.kind == "word"]
        if words:
            reason = protected_variable_reason(self._raw(words[0]))
            if reason:
                raise _Refused(reason)
        for word in words[1:]:
            self._substitutions(word, cwds)
        after = cwds
        for part in parts:
            if part.kind not in ("word", "reservedword", "operator"):
                after = after | self.node(part, after)
        return after

    def _raw(self, node: Any) -> str:
        start, end = node.pos
        return self.source[start:end]

    def _word(self, node: Any) -> Word:
        raw = self._raw(node)
        if _has_process_substitution(node):
            return Word(raw, (), True)
        return analyze_word(raw)

    def _substitutions(self, node: Any, cwds: Cwds) -> None:
        """Judge the commands inside $( ), backquotes, <( ) and >( ) in a word."""
        for child in getattr(node, "parts", None) or ():
            if child.kind in ("commandsubstitution", "processsubstitution"):
                inner = getattr(child, "command", None)
                if inner is not None:
                    self.node(inner, cwds)
            else:
                self._substitutions(child, cwds)

    def _simple_command(self, node: Any, cwds: Cwds) -> Cwds:
        prefix: list[Any] = []
        words: list[Any] = []
        redirects: list[Any] = []
        for part in node.parts:
            if part.kind == "assignment" and not words:
                prefix.append(part)
            elif part.kind in ("word", "assignment"):
                words.append(part)
            elif part.kind == "redirect":
                redirects.append(part)
        for part in prefix + words:
            self._substitutions(part, cwds)
        for part in prefix:
            self._assignment(self._raw(part), scoped=bool(words))
        for redirect in redirects:
            self._redirect(redirect, cwds)
        if not words:
            return cwds
        return self.argv([self._word(w) for w in words], cwds)

    def _assignment(self, raw: str, *, scoped: bool) -> None:
        match = _ASSIGNMENT.match(raw)
        name = match.group(1) if match else raw.split("=", 1)[0]
        if scoped and name == "IFS":
            return  # `IFS= read -r line`: lasts for that one command only
        reason = protected_variable_reason(name)
        if reason:
            raise _Refused(reason)

    def _redirect(self, node: Any, cwds: Cwds) -> None:
        kind = node.type
        if kind in ("<<", "<<-"):
            return  # here-document: its body was checked when the text was scanned
        target = node.output
        if not isinstance(target, bashlex.ast.node):
            return  # duplicating or closing a file descriptor: 2>&1, >&-
        self._substitutions(target, cwds)
        if kind == "<<<":
            return  # here-string: text, not a file
        word = self._word(target)
        writing = kind not in ("<", "<&")
        if word.dynamic:
            if writing:
                raise _Refused(
                    f"the file a redirection writes to must be written out literally; "
                    f"`{word.raw}` is only known at run time"
                )
            return
        for value in word.values:
            self._check(f"redirection `{kind} {word.raw}`", value, cwds, write=writing)

    # -- commands --

    def argv(self, args: list[Word], cwds: Cwds) -> Cwds:
        head = args[0]
        name = head.literal
        if name is None:
            raise _Refused(
                f"the command name must be written out: `{head.raw}` is only known at run time"
            )
        if not name:
            raise _Refused("the command name is empty")
        base = os.path.basename(name)
        if base in HARD_REFUSED_COMMANDS:
            raise _Refused(HARD_REFUSED_COMMANDS[base])
        if "/" in name:
            return self._program_path(name, args, cwds)
        if name not in self.policy.allowed_commands:
            allowed = ", ".join(sorted(self.policy.allowed_commands))
            raise _Refused(
                f"`{name}` is not on the allowlist; allowed commands: {allowed}.{hint_for(name)}"
            )
        return self._dispatch(name, args[1:], cwds)

    def _dispatch(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        handler = self.handlers.get(name)
        if handler is not None:
            return handler(name, args, cwds)
        self._generic(name, args, cwds, spec_for(name))
        return cwds

    def _program_path(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        """A program named by its path: a system program on the allowlist, or one in the worktree.

        A program from the worktree (`./gradlew`, `.venv/bin/pytest`, `node_modules/.bin/jest`)
        is allowed like an interpreter: what it does is up to the sandbox.
        """
        base = os.path.basename(name)
        if name.startswith("/") and os.path.dirname(os.path.normpath(name)) in _SYSTEM_BIN_DIRS:
            if base not in self.policy.allowed_commands:
                allowed = ", ".join(sorted(self.policy.allowed_commands))
                raise _Refused(
                    f"`{name}` is not on the allowlist; allowed commands: {allowed}."
                    f"{hint_for(base)}"
                )
            return self._dispatch(base, args[1:], cwds)
        self._check(f"`{name}`", name, cwds, write=False)
        if base in self.policy.allowed_commands:
            return self._dispatch(base, args[1:], cwds)
        self._generic(name, args[1:], cwds, ArgSpec())
        return cwds

    def _check(self, what: str, value: str, cwds: Cwds, *, write: bool) -> None:
        reason = check_path(value, cwds, self.root, for_write=write)
        if reason:
            if len(cwds) > 1:
                reason += (
                    " (the command may run from more than one directory here because an "
                    "earlier `cd` can fail; join the steps with `&&`)"
                )
            raise _Refused(f"{what}: {reason}")

    def _check_word(self, name: str, word: Word, cwds: Cwds, *, write: bool, strict: bool) -> None:
        if word.dynamic:
            if write or strict:
                raise _Refused(
                    f"`{name}` with `{word.raw}`: its value is only known at run time, so the "
                    "policy cannot tell which path it names; write the paths out"
                )
            return
        for value in word.values:
            self._check(f"`{name}`", value, cwds, write=write)

    def _generic(
        self, name: str, args: Sequence[Word], cwds: Cwds, spec: ArgSpec
    ) -> tuple[list[Word], set[str]]:
        """Check a command's arguments as `spec` says; returns its positionals and options seen."""
        positionals: list[Word] = []
        seen: set[str] = set()
        free = spec.positional == "free"
        end_of_options = False
        i = 0

        def option_value(option: str, value: Word | None) -> None:
            if value is None:
                return
            if option in spec.read_opts:
                self._check_word(name, value, cwds, write=False, strict=False)
            elif option in spec.write_opts:
                self._check_word(name, value, cwds, write=True, strict=True)

        while i < len(args):
            word = args[i]
            value = word.literal
            i += 1
            if end_of_options or value is None or not value.startswith("-") or value == "-":
                positionals.append(word)
                continue
            if value == "--":
                end_of_options = True
                continue
            if value.startswith("--"):
                option, eq, attached = value.partition("=")
                seen.add(option)
                takes_value = option in spec.value_opts | spec.read_opts | spec.write_opts
                if takes_value and not eq:
                    option_value(option, args[i] if i < len(args) else None)
                    i += 1
                elif takes_value:
                    option_value(option, literal_word(attached))
                elif eq and not free:
                    self._check_word(name, literal_word(attached), cwds, write=False, strict=False)
                continue
            for k in range(1, len(value)):
                option = "-" + value[k]
                seen.add(option)
                if option in spec.value_opts | spec.read_opts | spec.write_opts:
                    rest = value[k + 1 :]
                    if rest:
                        option_value(option, literal_word(rest))
                    else:
                        option_value(option, args[i] if i < len(args) else None)
                        i += 1
                    break
        if free:
            return positionals, seen
        leading = 0 if seen & spec.no_leading_text_with else spec.leading_text
        written = spec.positional == "write" or bool(seen & spec.write_with)
        checked = positionals[leading:]
        for index, word in enumerate(checked):
            last = index == len(checked) - 1
            write = written or (spec.last_written and last and not seen & spec.write_opts)
            self._check_word(name, word, cwds, write=write, strict=spec.destructive)
        return positionals, seen

    # -- builtins --

    def _cd(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        targets = [w for w in args if w.literal not in ("-L", "-P", "-e", "-@")]
        if not targets:
            raise _Refused(
                f"`{name}` without a directory goes to the home directory, outside the worktree; "
                "give a directory inside the worktree"
            )
        target = targets[0]
        value = target.literal
        if value is None:
            raise _Refused(f"`{name}` needs a directory written out literally, not `{target.raw}`")
        if value == "-":
            raise _Refused(f"`{name} -` is not supported; name the directory")
        self._check(f"`{name} {target.raw}`", value, cwds, write=False)
        return frozenset((cwd / value).resolve() for cwd in cwds)

    def _popd(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        return cwds  # back to a directory pushd already checked

    def _export(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        for word in args:
            if word.literal in ("-n", "-p"):
                continue
            if word.literal == "-f":
                raise _Refused("`export -f` exports shell functions, which are not allowed")
            match = _ASSIGNMENT.match(word.raw)
            variable = match.group(1) if match else (word.literal or word.raw)
            reason = protected_variable_reason(variable)
            if reason:
                raise _Refused(reason)
        return cwds

    def _read(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        i = 0
        while i < len(args):
            value = args[i].literal or ""
            if value in ("-d", "-n", "-N", "-p", "-t", "-u"):
                i += 2
                continue
            if value == "-a" and i + 1 < len(args):
                value = args[i + 1].literal or args[i + 1].raw
                i += 1
            elif value.startswith("-"):
                i += 1
                continue
            reason = protected_variable_reason(value)
            if reason:
                raise _Refused(reason)
            i += 1
        return cwds

    def _printf(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        if args and args[0].literal == "-v" and len(args) > 1:
            variable = args[1].literal or args[1].raw
            reason = protected_variable_reason(variable)
            if reason:
                raise _Refused(reason)
        return cwds

    # -- wrappers that run another command --

    def _env(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        i = 0
        while i < len(args):
            word = args[i]
            value = word.literal
            match = _ASSIGNMENT.match(word.raw)
            if match:
                reason = protected_variable_reason(match.group(1))
                if reason:
                    raise _Refused(reason)
                i += 1
                continue
            if value is None:
                raise _Refused(f"`env` arguments must be written out literally, not `{word.raw}`")
            if value in ("-i", "--ignore-environment", "-0", "--null", "-", "-v", "--debug"):
                i += 1
            elif value in ("-u", "--unset"):
                i += 2
            elif value.startswith(("--unset=", "-u")):
                i += 1
            elif value.startswith(("-S", "--split-string")):
                raise _Refused("`env -S` splits a string into a command; write the command out")
            elif value.startswith("-"):
                raise _Refused(f"`env {value}` is not supported; use `cd DIR && CMD` or plain CMD")
            else:
                break
        if i >= len(args):
            return cwds  # prints the environment: the sandbox has cleared it of secrets
        return self.argv(list(args[i:]), cwds)

    def _timeout(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        i = 0
        while i < len(args) and (args[i].literal or "").startswith("-"):
            value = args[i].literal or ""
            i += 2 if value in ("-s", "--signal", "-k", "--kill-after") else 1
        i += 1  # the duration
        if i >= len(args):
            return cwds
        return self.argv(list(args[i:]), cwds)

    def _nice(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        i = 0
        while i < len(args) and (args[i].literal or "").startswith("-"):
            i += 2 if args[i].literal in ("-n", "--adjustment") else 1
        return self.argv(list(args[i:]), cwds) if i < len(args) else cwds

    def _nohup(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        return self.argv(list(args), cwds) if args else cwds

    def _command(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        if not args or any(w.literal in ("-v", "-V") for w in args[:1]):
            return cwds  # `command -v NAME` only looks the name up
        rest = args[1:] if args[0].literal == "-p" else args
        return self.argv(list(rest), cwds) if rest else cwds

    def _xargs(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        value_options = (
            "-d",
            "--delimiter",
            "-E",
            "-I",
            "--replace",
            "-L",
            "--max-lines",
            "-n",
            "--max-args",
            "-P",
            "--max-procs",
            "-s",
            "--max-chars",
            "--process-slot-var",
        )
        replace: str | None = None
        i = 0
        while i < len(args):
            word = args[i]
            value = word.literal
            if value is None or not value.startswith("-"):
                break
            option, eq, attached = value.partition("=")
            if option in ("-a", "--arg-file"):
                file = (
                    literal_word(attached) if eq else (args[i + 1] if i + 1 < len(args) else None)
                )
                if file is not None:
                    self._check_word(name, file, cwds, write=False, strict=True)
                i += 1 if eq else 2
            elif option in value_options:
                given = attached if eq else (args[i + 1].literal if i + 1 < len(args) else None)
                if option in ("-I", "--replace"):
                    replace = given or "{}"
                i += 1 if eq else 2
            elif value.startswith("-I") or value.startswith("-i"):
                replace = value[2:] or "{}"
                i += 1
            else:
                i += 1
        inner = list(args[i:])
        if not inner:
            return cwds  # xargs runs echo
        program = inner[0].literal
        if program is not None and os.path.basename(program) in _DESTRUCTIVE:
            raise _Refused(
                f"`xargs {program}` would act on whatever paths arrive on its input, which the "
                "policy cannot see; list the paths (`rm a b`) or use "
                "`find . -name PATTERN -delete`"
            )
        if replace is not None:
            inner = [Word(w.raw, (), True) if replace in w.raw else w for w in inner]
        return self.argv(inner, cwds)

    def _find(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        i = 0
        while i < len(args) and (args[i].literal or "") in ("-H", "-L", "-P", "-D"):
            i += 2 if args[i].literal == "-D" else 1
        starts: list[Word] = []
        while i < len(args):
            value = args[i].literal
            if value is not None and (value.startswith("-") or value in ("(", ")", "!", ",")):
                break
            starts.append(args[i])
            i += 1
        if not starts:
            starts = [literal_word(".")]
        for start in starts:
            self._check_word(name, start, cwds, write=False, strict=False)
        deleting = False
        filtered = False
        execs: list[tuple[str, list[Word]]] = []
        while i < len(args):
            value = args[i].literal
            if value in ("-exec", "-execdir", "-ok", "-okdir"):
                j = i + 1
                while j < len(args) and args[j].literal not in (";", "+"):
                    j += 1
                if j >= len(args):
                    raise _Refused(f"`find {value}` needs a closing `;` or `+`")
                execs.append((value, list(args[i + 1 : j])))
                i = j + 1
                continue
            if value == "-delete":
                deleting = True
            elif value in _FIND_NAME_TESTS:
                filtered = True
                i += 1
            elif value in _FIND_VALUE_TESTS or (value or "").startswith("-newer"):
                i += 1
            elif value in ("-fprint", "-fprint0", "-fls", "-fprintf") and i + 1 < len(args):
                self._check_word(name, args[i + 1], cwds, write=True, strict=True)
                i += 2 if value == "-fprintf" else 1
            i += 1
        place = " ".join(w.raw for w in starts)
        if deleting and not filtered:
            raise _Refused(
                f"`find -delete` without a -name or -path filter would delete everything under "
                f"{place} (including .git); add a filter such as -name '*.pyc'"
            )
        found_values = tuple(
            os.path.join(start.literal, "{}") for start in starts if start.literal is not None
        )
        found = Word("{}", found_values, len(found_values) != len(starts))
        for action, inner in execs:
            if not inner:
                raise _Refused(f"`find {action}` needs a command")
            program = inner[0].literal
            if program is not None and os.path.basename(program) in _DESTRUCTIVE and not filtered:
                raise _Refused(
                    f"`find {action} {program}` without a -name or -path filter would act on "
                    f"everything under {place} (including .git); add a filter such as -name '*.pyc'"
                )
            words = [found if w.literal == "{}" else w for w in inner]
            words = [
                Word(w.raw, (), True) if "{}" in w.raw and w is not found else w for w in words
            ]
            self.argv(words, cwds)
        return cwds

    # -- commands with rules of their own --

    def _git(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        reason, rest = git_refusal(args)
        if reason:
            raise _Refused(reason)
        for directory in git_dirs(args):
            self._check_word(name, directory, cwds, write=False, strict=True)
        self._generic(name, list(rest), cwds, _GIT_ARGS)
        return cwds

    def _python(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        # python can do anything inside the sandbox; the policy only keeps its paths in view.
        i = 0
        while i < len(args):
            value = args[i].literal
            if value is None:
                break
            if value in ("-c", "-m"):
                self._generic(name, args[i + 2 :], cwds, ArgSpec())
                return cwds
            if value.startswith(("-c", "-m")) or value == "-":
                self._generic(name, args[i + 1 :], cwds, ArgSpec())
                return cwds
            if value in ("-W", "-X", "--check-hash-based-pycs"):
                i += 2
                continue
            if not value.startswith("-"):
                break
            i += 1
        self._generic(name, args[i:], cwds, ArgSpec())
        return cwds

    def _node(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        spec = ArgSpec(
            value_opts=names(
                """
                -e --eval -p --print -r --require --import --loader --input-type --conditions -C
                --max-old-space-size
                """
            )
        )
        self._generic(name, args, cwds, spec)
        return cwds

    def _shell(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        has_c = False
        from_stdin = False
        i = 0
        while i < len(args):
            word = args[i]
            value = word.literal
            if value is None:
                raise _Refused(
                    f"`{name}` arguments must be written out literally, not `{word.raw}`"
                )
            if value == "--":
                i += 1
                break
            if value in ("-o", "+o", "-O", "+O"):
                i += 2
                continue
            if value in ("--rcfile", "--init-file"):
                raise _Refused(
                    f"`{name} {value}` is not supported; run the script as `{name} FILE`"
                )
            if value.startswith("--"):
                i += 1
                continue
            if value.startswith(("-", "+")) and len(value) > 1:
                has_c = has_c or "c" in value[1:]
                from_stdin = from_stdin or "s" in value[1:] or "i" in value[1:]
                i += 1
                continue
            break
        positionals = args[i:]
        if has_c:
            if not positionals:
                raise _Refused(f"`{name} -c` needs a command string")
            string = positionals[0].literal
            if string is None:
                raise _Refused(
                    f"`{name} -c` needs its command string written out literally; the policy "
                    "judges that string as a command line"
                )
            if self.depth >= _MAX_NESTING:
                raise _Refused(f"`{name} -c` is nested too deeply; run the command directly")
            try:
                _Judge(self.policy, self.root, self.depth + 1).text(string, cwds)
            except _Refused as refused:
                raise _Refused(f"inside `{name} -c`: {refused.reason}") from None
            return cwds
        if from_stdin or not positionals:
            raise _Refused(
                f"`{name}` without -c or a script file runs commands from its input, which the "
                "policy cannot see; write the commands out, or save them to a file in the "
                f"worktree and run `{name} FILE`"
            )
        # `bash FILE`: an interpreter running a script from the worktree; the sandbox is the wall.
        self._check_word(name, positionals[0], cwds, write=False, strict=True)
        self._generic(name, positionals[1:], cwds, ArgSpec())
        return cwds

    def _rm(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        positionals, _ = self._generic(name, args, cwds, spec_for(name))
        for word in positionals:
            for value in word.values:
                if any((cwd / value).resolve() == self.root for cwd in cwds):
                    raise _Refused(
                        f"`{name} {word.raw}` would delete the whole worktree; "
                        "name the files or directories to remove"
                    )
        return cwds

    def _chmod(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        positionals, seen = self._generic(name, args, cwds, spec_for(name))
        if "--reference" in seen or not positionals:
            return cwds
        mode = positionals[0]
        value = mode.literal
        if value is None:
            raise _Refused(f"`chmod` needs its mode written out, not `{mode.raw}`")
        octal = value.isdigit() and len(value) >= 4 and int(value[-4]) & 6
        if octal or _SETUID.search(value):
            raise _Refused(
                f"`chmod {value}` sets the setuid/setgid bit, which is not allowed; "
                "use modes such as +x or 644"
            )
        return cwds

    def _rg(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        for word in args:
            value = word.literal or ""
            if value == "--pre" or value.startswith("--pre="):
                raise _Refused("`rg --pre` runs a program on every file; search without it")
        self._generic(name, args, cwds, spec_for(name))
        return cwds
