"""The shell walker: every command a bash command line would run, in the structure bash runs it.

The text is first read as bash reads it (`runner.policy.shell_text`: quotes, here-documents,
comments, line continuations, keywords bashlex cannot parse); wherever the parser could read it
differently from bash, the command is refused with a reason. The text is then parsed with bashlex
and the whole tree is walked: pipelines, `&&`/`||`/`;` lists, subshells, `{ }` groups,
`if`/`for`/`while`, command and process substitutions, here-documents and redirections. Each
simple command must be on the allowlist; its arguments are read by its rule
(`runner.policy.rules`), which may hand an inner command back to the walker (`env`, `xargs`,
`find -exec`, `bash -c`). The walker follows `cd` to know where relative paths point.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import bashlex

from runner.policy.allowlist import HARD_REFUSED_COMMANDS, hint_for, protected_variable_reason
from runner.policy.arguments import ArgSpec, spec_for
from runner.policy.command_policy import CommandPolicy
from runner.policy.paths import check_path
from runner.policy.rules import RULES
from runner.policy.rules.builtins import ASSIGNMENT
from runner.policy.rules.generic import check_arguments
from runner.policy.shell_text import (
    ShellTextError,
    Word,
    analyze_word,
    heredoc_runs_commands,
    scan_shell_text,
)
from runner.policy.walking import Cwds, Refused

__all__ = ["ShellWalker"]

MAX_NESTING = 3  # bash -c "bash -c '...'" levels
_SYSTEM_BIN_DIRS = frozenset({"/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin"})
_PARSER_LIMITS = (
    "the policy's parser does not support `select`, `coproc`, `(( ))` or arrays; "
    "use `test`/`[ ]`, `expr` or a small script run with python"
)


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


class ShellWalker:
    """Walks one command line for `policy`; `depth` counts `bash -c` levels."""

    def __init__(self, policy: CommandPolicy, root: Path, depth: int) -> None:
        self.policy = policy
        self._root = root
        self.depth = depth
        self.source = ""

    @property
    def root(self) -> Path:
        return self._root

    def nested(self, text: str, cwds: Cwds, where: str) -> None:
        if self.depth >= MAX_NESTING:
            raise Refused(f"{where}: nested too deeply; run the command directly")
        try:
            ShellWalker(self.policy, self.root, self.depth + 1).text(text, cwds)
        except Refused as refused:
            raise Refused(f"{where}: {refused.reason}") from None

    # -- text and nodes --

    def text(self, command: str, cwds: Cwds) -> Cwds:
        try:
            scanned = scan_shell_text(command)
        except ShellTextError as error:
            raise Refused(f"the command could not be parsed: {error}") from None
        if scanned.problems:
            raise Refused(scanned.problems[0])
        if scanned.ansi_c_quoting:
            raise Refused(
                "$'...' and $\"...\" quoting is not supported by the command policy; "
                "use plain '...' or \"...\" quotes"
            )
        for heredoc in scanned.heredocs:
            if heredoc_runs_commands(heredoc):
                raise Refused(
                    f"the here-document ending in {heredoc.delimiter} contains $( ) or "
                    f"backquotes, which bash would run; quote its delimiter "
                    f"(<<'{heredoc.delimiter}') to write the text literally"
                )
        try:
            trees = bashlex.parse(scanned.text)
        except Exception as error:  # bashlex raises several types; any failure is a refusal
            raise Refused(f"the command could not be parsed ({error}); {_PARSER_LIMITS}") from None
        if _count_substitutions(trees) < scanned.substitutions:
            raise Refused(
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
            raise Refused(
                "defining shell functions is not allowed (a function can stand in for an "
                "allowed command); run the commands directly"
            )
        if kind in ("operator", "reservedword", "pipe"):
            return cwds
        raise Refused(f"the shell construct `{kind}` is not supported; {_PARSER_LIMITS}")

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
                raise Refused(reason)
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
        match = ASSIGNMENT.match(raw)
        name = match.group(1) if match else raw.split("=", 1)[0]
        if scoped and name == "IFS":
            return  # `IFS= read -r line`: lasts for that one command only
        reason = protected_variable_reason(name)
        if reason:
            raise Refused(reason)

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
            raise Refused(
                f"the file a redirection {'writes to' if writing else 'reads'} must be written "
                f"out literally (bash itself opens names such as /dev/tcp/HOST/PORT); "
                f"`{word.raw}` is only known at run time"
            )
        for value in word.values:
            self.check(f"redirection `{kind} {word.raw}`", value, cwds, write=writing)

    # -- commands --

    def argv(self, args: list[Word], cwds: Cwds) -> Cwds:
        head = args[0]
        name = head.literal
        if name is None:
            raise Refused(
                f"the command name must be written out: `{head.raw}` is only known at run time"
            )
        if not name:
            raise Refused("the command name is empty")
        base = os.path.basename(name)
        if base in HARD_REFUSED_COMMANDS:
            raise Refused(HARD_REFUSED_COMMANDS[base])
        if "/" in name:
            return self._program_path(name, args, cwds)
        if name not in self.policy.allowed_commands:
            allowed = ", ".join(sorted(self.policy.allowed_commands))
            raise Refused(
                f"`{name}` is not on the allowlist; allowed commands: {allowed}.{hint_for(name)}"
            )
        return self._dispatch(name, args[1:], cwds)

    def _dispatch(self, name: str, args: list[Word], cwds: Cwds) -> Cwds:
        rule = RULES.get(name)
        if rule is not None:
            return rule(self, name, args, cwds)
        check_arguments(self, name, args, cwds, spec_for(name))
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
                raise Refused(
                    f"`{name}` is not on the allowlist; allowed commands: {allowed}."
                    f"{hint_for(base)}"
                )
            return self._dispatch(base, args[1:], cwds)
        self.check(f"`{name}`", name, cwds, write=False)
        if base in self.policy.allowed_commands:
            return self._dispatch(base, args[1:], cwds)
        check_arguments(self, name, args[1:], cwds, ArgSpec())
        return cwds

    def check(self, what: str, value: str, cwds: Cwds, *, write: bool) -> None:
        reason = check_path(value, cwds, self.root, for_write=write)
        if reason:
            if len(cwds) > 1:
                reason += (
                    " (the command may run from more than one directory here because an "
                    "earlier `cd` can fail; join the steps with `&&`)"
                )
            raise Refused(f"{what}: {reason}")

    def check_word(self, name: str, word: Word, cwds: Cwds, *, write: bool, strict: bool) -> None:
        if word.dynamic:
            if write or strict:
                raise Refused(
                    f"`{name}` with `{word.raw}`: its value is only known at run time, so the "
                    "policy cannot tell which path it names; write the paths out"
                )
            return
        for value in word.values:
            self.check(f"`{name}`", value, cwds, write=write)
