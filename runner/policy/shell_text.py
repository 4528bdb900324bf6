"""Reading shell text the way bash does, where the parser (bashlex) falls short.

bashlex builds the syntax tree the policy walks, but it has gaps that matter for a security
check, so this module reads the raw text itself, quote by quote:

- Quoted here-document delimiters (`<<'EOF'`, `<<"EOF"`, `<<\\EOF`) make bashlex fail. They are
  rewritten to the bare delimiter padded with spaces, so every position in the text stays the
  same, and each here-document is reported with whether its body is expanded by bash.
- Command substitutions inside `${...}` (`${X:-$(curl x)}`) are invisible in bashlex's tree.
  This scanner counts every command or process substitution bash would run; the policy refuses
  a command when bashlex found fewer than that.
- ANSI-C quoting (`$'\\x2fetc'`) is mis-read by bashlex; it is reported so the policy can refuse it.

Words are analysed here too (`analyze_word`): quote removal, brace expansion, and whether the
value depends on something only known at run time (a variable, a substitution).

It is one job, a shell lexer, and long for that reason: bash's quoting, substitution, here-document
and brace rules interlock, so the scanner and the word reader share one reading of the text.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from runner.policy.conditional import read_conditional, word_end
from runner.policy.expansions import arithmetic_problem, parameter_problem

__all__ = [
    "Heredoc",
    "ScannedText",
    "ShellTextError",
    "Word",
    "analyze_word",
    "scan_shell_text",
]

# Characters that end an unquoted word (bash "metacharacters") and the here-document delimiter.
_METACHARACTERS = frozenset(" \t\n;&|<>()")
# What may follow `$` to make it an expansion (otherwise `$` is a literal dollar sign).
_EXPANSION_START = re.compile(r"[A-Za-z0-9_@*#?$!{(\-]")
_PLAIN_DELIMITER = re.compile(r"^[A-Za-z0-9_.\-]+$")
_MAX_BRACE_VALUES = 64
# Words after which the next word is still a command name.
_KEEP_COMMAND_POSITION = frozenset({"then", "do", "else", "elif", "if", "while", "until", "!", "{"})


class ShellTextError(ValueError):
    """The text is not complete shell syntax (an unterminated quote, here-document, ...)."""


@dataclass(frozen=True)
class Heredoc:
    delimiter: str
    quoted: bool  # a quoted delimiter makes the body literal; otherwise bash expands it
    body: str


@dataclass(frozen=True)
class ScannedText:
    text: str  # the input with quoted here-document delimiters unquoted (same length)
    heredocs: tuple[Heredoc, ...]
    substitutions: int  # command and process substitutions bash would run
    ansi_c_quoting: bool  # `$'...'` or `$"..."` appears outside quotes
    problems: tuple[str, ...] = ()  # where the parser would read the text unlike bash


@dataclass
class _Context:
    closer: str  # "" for the top level, ")" for $( ) and <( ), "`" for backticks, "}" for ${ }
    depth: int = 0  # nested "(" (or "{") inside this context


@dataclass
class _Case:
    state: str  # "word", "subject", "pattern", "body"
    depth: int  # the context stack's depth at `case`: `;;` counts only there


@dataclass
class _Scanner:
    text: str
    out: list[str] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)
    pending: list[tuple[str, bool, bool]] = field(default_factory=list)  # delimiter, tabs, quoted
    substitutions: int = 0
    ansi_c: bool = False
    problems: list[str] = field(default_factory=list)
    cases: list[_Case] = field(default_factory=list)
    command_start: bool = True  # the next word is in command position
    plain_until: int = 0  # inside a rewritten `[[ ]]`: no keywords there

    def scan(self) -> ScannedText:
        self.out = list(self.text)
        stack = [_Context("")]
        i = 0
        n = len(self.text)
        word_start = True
        while i < n:
            ctx = stack[-1]
            c = self.text[i]
            if ctx.closer == '"':
                i = self._in_double_quotes(i, stack)
                word_start = False
                continue
            if c == "\\" and self.text.startswith("\n", i + 1):
                self._line_continuation(i)
                i += 2
                continue
            if word_start and c not in _METACHARACTERS and i >= self.plain_until:
                handled = self._word_in_position(i, stack)
                if handled is not None:
                    i = handled
                    word_start = True
                    continue
            if c == "\\":
                i += 2
                word_start = False
                continue
            if c == "'":
                i = self._skip_single_quoted(i + 1)
                word_start = False
                continue
            if c == '"':
                stack.append(_Context('"'))
                i += 1
                word_start = False
                continue
            if c == "`":
                if ctx.closer == "`":
                    stack.pop()
                else:
                    self.substitutions += 1
                    stack.append(_Context("`"))
                i += 1
                word_start = False
                continue
            if c == "$":
                i = self._dollar(i, stack)
                word_start = False
                continue
            if c in "<>" and self.text.startswith("(", i + 1) and ctx.closer != "}":
                self.substitutions += 1  # process substitution <( ) or >( )
                stack.append(_Context(")"))
                i += 2
                word_start = True
                self.command_start = True
                continue
            if c == "<" and self.text.startswith("<", i + 1) and ctx.closer != "}":
                i = self._here_operator(i)
                word_start = True
                continue
            if c == "#" and word_start and ctx.closer != "}":
                if ctx.closer in (")", "`"):
                    self.problems.append(
                        "a comment inside $( ), <( ) or backquotes is read differently by the "
                        "policy's parser and by bash; remove the comment"
                    )
                while i < n and self.text[i] != "\n":
                    i += 1
                continue
            if (
                c == ";"
                and self.cases
                and self.cases[-1].state == "body"
                and self.cases[-1].depth == len(stack)
                and self.text.startswith((";;", ";&"), i)
            ):
                width = 3 if self.text.startswith(";;&", i) else 2
                self.out[i : i + width] = [";"] + [" "] * (width - 1)
                self.cases[-1].state = "pattern"
                i += width
                word_start = True
                continue
            if (
                c == "("
                and self.command_start
                and self.text.startswith("((", i)
                and i >= self.plain_until
            ):
                self.problems.append(
                    "the arithmetic command `(( ))` evaluates text as code; use `test` or "
                    "`[ ]` to compare numbers and `expr` to compute"
                )
            if c == "(" and ctx.closer == ")":
                ctx.depth += 1
            elif c == ")" and ctx.closer == ")":
                if ctx.depth == 0:
                    stack.pop()
                else:
                    ctx.depth -= 1
            elif c == "{" and ctx.closer == "}":
                ctx.depth += 1
            elif c == "}" and ctx.closer == "}":
                if ctx.depth == 0:
                    stack.pop()
                else:
                    ctx.depth -= 1
            elif c == "\n" and self.pending:
                i = self._read_heredoc_bodies(i + 1)
                word_start = True
                self.command_start = True
                continue
            if c in ";&|(\n":
                self.command_start = True
            word_start = c in _METACHARACTERS
            i += 1
        if len(stack) > 1:
            raise ShellTextError(f"unterminated {_describe(stack[-1].closer)}")
        if self.pending:
            raise ShellTextError(
                f"here-document delimited by end of input (wanted {self.pending[0][0]!r})"
            )
        if self.cases:
            raise ShellTextError("`case` without `esac`")
        return ScannedText(
            text="".join(self.out),
            heredocs=tuple(self.heredocs),
            substitutions=self.substitutions,
            ansi_c_quoting=self.ansi_c,
            problems=tuple(self.problems),
        )

    def _line_continuation(self, i: int) -> None:
        """Backslash-newline: bash deletes it, joining the lines. Between words that is a blank;
        inside a word it would glue text the parser reads as two words: refused."""
        before = self.text[i - 1] if i > 0 else " "
        after = self.text[i + 2] if i + 2 < len(self.text) else " "
        if before in _METACHARACTERS or after in _METACHARACTERS:
            self.out[i : i + 2] = [" ", " "]
        else:
            self.problems.append(
                "a backslash-newline inside a word joins it with the next line, which the "
                "policy's parser reads differently from bash; write the word on one line"
            )

    def _word_in_position(self, i: int, stack: list[_Context]) -> int | None:
        """At the start of a word: keywords the parser cannot read (`time`, `[[`, `case`), and
        the parts of a `case`. Returns where to go on, or None to scan the word as usual."""
        end = word_end(self.text, i)
        word = self.text[i:end]
        case = self.cases[-1] if self.cases else None
        if case is not None and case.state == "subject":
            if word != "in":
                self.problems.append("`case WORD` must be followed by `in`")
                return None
            self.out[i:end] = [";", " "]
            case.state = "pattern"
            self.command_start = True
            return end
        if case is not None and case.state == "word":
            case.state = "subject"
            self.command_start = False
            return None
        if case is not None and word == "esac" and (case.state == "pattern" or self.command_start):
            self.out[i:end] = ["}", " ", " ", " "]
            self.cases.pop()
            self.command_start = False
            return end
        if case is not None and case.state == "pattern":
            return self._case_pattern(i, stack)
        if not self.command_start:
            return None
        if word == "time":
            self.out[i:end] = [" "] * (end - i)
            following = self.text[end:].lstrip(" \t")
            if following.startswith("-p ") or following == "-p":
                p = self.text.index("-p", end)
                self.out[p : p + 2] = [" ", " "]
                return p + 2
            return end
        if word == "[[":
            conditional = read_conditional(self.text, i)
            if conditional.problem:
                self.problems.append(conditional.problem)
            kept = [False] * (conditional.end - i)
            for a, b in conditional.kept:
                kept[a - i : b - i] = [True] * (b - a)
            self.out[i : conditional.end] = [
                self.text[i + k] if keep else " " for k, keep in enumerate(kept)
            ]
            self.out[i] = ":"
            self.plain_until = conditional.end
            self.command_start = False
            return None  # scan the words inside for substitutions, as bash expands them
        if word == "case":
            self.out[i:end] = ["{", " ", ":", " "]
            self.cases.append(_Case("word", len(stack)))
            self.command_start = False
            return end
        self.command_start = word in _KEEP_COMMAND_POSITION
        return None

    def _case_pattern(self, i: int, stack: list[_Context]) -> int:
        """A `case` item's pattern list, up to its `)`: blanked (patterns only match text)."""
        j = i + 1 if self.text[i] == "(" else i
        while j < len(self.text) and self.text[j] != ")":
            end = word_end(self.text, j, regex=False)
            word = self.text[j:end]
            if "$(" in word or "`" in word:
                self.problems.append("a `case` pattern must not run commands; write it out")
            if end == j:
                if self.text[j] not in "| \t":
                    self.problems.append(f"unexpected `{self.text[j]}` in a `case` pattern")
                end = j + 1
            j = end
        if j >= len(self.text):
            raise ShellTextError("a `case` pattern without `)`")
        self.out[i : j + 1] = [" "] * (j + 1 - i)
        body = self.text[j + 1 :].lstrip(" \t\n")
        if body.startswith((";;", ";&", "esac")):
            self.out[j] = ":"
        self.cases[-1].state = "body"
        self.command_start = True
        return j + 1

    def _skip_single_quoted(self, i: int) -> int:
        end = self.text.find("'", i)
        if end < 0:
            raise ShellTextError("unterminated single quote")
        return end + 1

    def _in_double_quotes(self, i: int, stack: list[_Context]) -> int:
        c = self.text[i]
        if c == "\\":
            if self.text.startswith("\n", i + 1):
                self.problems.append(
                    "a backslash-newline inside quotes joins two lines, which the policy's "
                    "parser reads differently from bash; write the text on one line"
                )
            return i + 2
        if c == '"':
            stack.pop()
            return i + 1
        if c == "`":
            self.substitutions += 1
            stack.append(_Context("`"))
            return i + 1
        if c == "$" and self.text.startswith(("(", "{"), i + 1):
            return self._dollar(i, stack)
        return i + 1

    def _dollar(self, i: int, stack: list[_Context]) -> int:
        nxt = self.text[i + 1 : i + 2]
        if nxt == "(":
            if self.text.startswith("(", i + 2):  # $(( arithmetic ))
                end = self._arithmetic_end(i + 3)
                problem = arithmetic_problem(self.text[i + 3 : end - 2]) if end else None
                if end is not None and problem is None:
                    # Plain arithmetic only yields a number: write it as one (same length), so
                    # bashlex, which cannot parse $(( )), reads a literal word instead.
                    self.out[i:end] = ["0"] * (end - i)
                    return end
                self.problems.append(
                    problem or "`$(( ))` holding quotes or substitutions evaluates text as code"
                )
                stack.append(_Context(")", depth=1))
                return i + 3
            self.substitutions += 1
            stack.append(_Context(")"))
            return i + 2
        if nxt == "{":
            problem = parameter_problem(self.text, i + 2)
            if problem:
                self.problems.append(problem)
            stack.append(_Context("}"))
            return i + 2
        if nxt == "[":
            self.problems.append("`$[ ]` is arithmetic, which evaluates text as code; use `expr`")
            return i + 1
        if nxt == "'" and stack[-1].closer != '"':
            self.ansi_c = True
            j = i + 2
            while j < len(self.text) and self.text[j] != "'":
                j += 2 if self.text[j] == "\\" else 1
            if j >= len(self.text):
                raise ShellTextError("unterminated $'...' quote")
            return j + 1
        if nxt == '"' and stack[-1].closer != '"':
            self.ansi_c = True
            stack.append(_Context('"'))
            return i + 2
        return i + 1

    def _arithmetic_end(self, i: int) -> int | None:
        """The end of `$(( ... ))` whose body starts at `i`, if it holds plain arithmetic only
        (no substitution, parameter expansion with braces, or quotes); else None."""
        depth = 0
        j = i
        while j < len(self.text):
            c = self.text[j]
            if c in "`'\"\\" or self.text.startswith(("$(", "${"), j):
                return None
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    return j + 2 if self.text.startswith(")", j + 1) else None
                depth -= 1
            j += 1
        return None

    def _here_operator(self, i: int) -> int:
        """At `<<`: a here-string (`<<<`) or a here-document whose delimiter is read here."""
        if self.text.startswith("<", i + 2):
            return i + 3
        j = i + 2
        strip_tabs = self.text.startswith("-", j)
        if strip_tabs:
            j += 1
        while j < len(self.text) and self.text[j] in " \t":
            j += 1
        start = j
        value: list[str] = []
        quoted = False
        while j < len(self.text) and self.text[j] not in _METACHARACTERS:
            c = self.text[j]
            if c in "'\"":
                end = self.text.find(c, j + 1)
                if end < 0:
                    raise ShellTextError("unterminated quote in a here-document delimiter")
                value.append(self.text[j + 1 : end])
                quoted = True
                j = end + 1
            elif c == "\\":
                value.append(self.text[j + 1 : j + 2])
                quoted = True
                j += 2
            else:
                value.append(c)
                j += 1
        delimiter = "".join(value)
        if not _PLAIN_DELIMITER.match(delimiter):
            raise ShellTextError(
                "a here-document needs a plain delimiter such as EOF or 'EOF' "
                f"(got {self.text[start:j]!r})"
            )
        if quoted:  # bashlex cannot read quoted delimiters: write the bare word, same length
            self.out[start:j] = list(delimiter.ljust(j - start))
        self.pending.append((delimiter, strip_tabs, quoted))
        return j

    def _read_heredoc_bodies(self, i: int) -> int:
        for delimiter, strip_tabs, quoted in self.pending:
            lines: list[str] = []
            while True:
                if i >= len(self.text):
                    raise ShellTextError(
                        f"here-document delimited by end of input (wanted {delimiter!r})"
                    )
                end = self.text.find("\n", i)
                line = self.text[i:] if end < 0 else self.text[i:end]
                i = len(self.text) if end < 0 else end + 1
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
                lines.append(line)
            self.heredocs.append(Heredoc(delimiter, quoted, "\n".join(lines)))
        self.pending = []
        return i


def _describe(closer: str) -> str:
    return {
        '"': "double quote",
        ")": "$( ) or ( )",
        "`": "backquote",
        "}": "${ }",
    }.get(closer, "construct")


def scan_shell_text(text: str) -> ScannedText:
    """Read `text` as bash does; raises `ShellTextError` when it is not complete shell syntax."""
    return _Scanner(text).scan()


def heredoc_runs_commands(heredoc: Heredoc) -> bool:
    """Whether bash would run a command while expanding this here-document's body."""
    if heredoc.quoted:
        return False
    body = heredoc.body.replace("\\\n", "")  # bash joins continued lines before expanding
    return "$(" in body or "`" in body or "$[" in body or "$((" in body


# --- words -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """One shell word as the policy sees it.

    `values` holds what the word can become after brace expansion and quote removal (one value
    for most words; `{a,b}` gives two). A `dynamic` word depends on run-time state (a variable,
    a command substitution, `$'...'`): its value is unknown and `values` is empty.
    """

    raw: str
    values: tuple[str, ...]
    dynamic: bool

    @property
    def literal(self) -> str | None:
        """The word's single literal value, or None when it is dynamic or brace-expands."""
        return self.values[0] if not self.dynamic and len(self.values) == 1 else None


def literal_word(value: str) -> Word:
    """A word that stands for exactly `value` (used for synthetic arguments such as find's {})."""
    return Word(raw=value, values=(value,), dynamic=False)


def analyze_word(raw: str) -> Word:
    """What a word's raw text (quotes and all) can expand to."""
    try:
        alternatives = _expand_braces(raw)
    except _TooManyValues:
        return Word(raw, (), True)
    values: list[str] = []
    for alternative in alternatives:
        value = _remove_quotes(alternative)
        if value is None:
            return Word(raw, (), True)
        values.append(value)
    return Word(raw, tuple(values), False)


def _remove_quotes(raw: str) -> str | None:
    """Quote removal for a literal word; None when the word expands something at run time."""
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == "\\":
            out.append(raw[i + 1 : i + 2])
            i += 2
        elif c == "'":
            end = raw.find("'", i + 1)
            if end < 0:
                return None
            out.append(raw[i + 1 : end])
            i = end + 1
        elif c == '"':
            i += 1
            while i < n and raw[i] != '"':
                d = raw[i]
                if d == "\\" and raw[i + 1 : i + 2] in ('"', "\\", "$", "`", "\n"):
                    out.append(raw[i + 1])
                    i += 2
                    continue
                if d == "`" or (d == "$" and _EXPANSION_START.match(raw, i + 1)):
                    return None
                out.append(d)
                i += 1
            i += 1
        elif c == "`" or (c == "$" and _expands(raw, i)):
            return None
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _expands(raw: str, i: int) -> bool:
    """Whether the `$` at `i` starts an expansion (or `$'...'`/`$"..."` quoting)."""
    return bool(_EXPANSION_START.match(raw, i + 1)) or raw[i + 1 : i + 2] in ("'", '"')


class _TooManyValues(Exception):
    pass


def _expand_braces(raw: str) -> list[str]:
    """Bash brace expansion on raw text (quotes respected): `a{b,c}d` → [`abd`, `acd`]."""
    found = _find_brace(raw)
    if found is None:
        return [raw]
    start, end, alternatives = found
    results: list[str] = []
    for alternative in alternatives:
        for expanded in _expand_braces(raw[:start] + alternative + raw[end + 1 :]):
            results.append(expanded)
            if len(results) > _MAX_BRACE_VALUES:
                raise _TooManyValues
    return results


def _find_brace(raw: str) -> tuple[int, int, list[str]] | None:
    """The first expandable `{...}`: its start, end and alternatives (None when there is none)."""
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            end = raw.find("'", i + 1)
            i = n if end < 0 else end + 1
            continue
        if c == '"':
            i = _skip_double_quoted(raw, i + 1)
            continue
        if c == "$" and raw[i + 1 : i + 2] == "{":
            i = _matching_brace(raw, i + 1)[0] + 1
            continue
        if c == "{":
            close, commas = _matching_brace(raw, i)
            if close < n:
                inner = raw[i + 1 : close]
                if commas:
                    bounds = [i, *commas, close]
                    return (
                        i,
                        close,
                        [raw[a + 1 : b] for a, b in itertools.pairwise(bounds)],
                    )
                sequence = _sequence(inner)
                if sequence is not None:
                    return i, close, sequence
        i += 1
    return None


def _skip_double_quoted(raw: str, i: int) -> int:
    while i < len(raw) and raw[i] != '"':
        i += 2 if raw[i] == "\\" else 1
    return i + 1


def _matching_brace(raw: str, start: int) -> tuple[int, list[int]]:
    """Where the `}` closing the `{` at `start` is (len(raw) if none), and its top commas."""
    depth = 0
    commas: list[int] = []
    i = start
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            end = raw.find("'", i + 1)
            i = len(raw) if end < 0 else end + 1
            continue
        if c == '"':
            i = _skip_double_quoted(raw, i + 1)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i, commas
        elif c == "," and depth == 1:
            commas.append(i)
        i += 1
    return len(raw), []


_SEQUENCE = re.compile(r"^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?$")


def _sequence(inner: str) -> list[str] | None:
    """`{1..3}` → ["1", "2", "3"]; `{a..c}` → ["a", "b", "c"]; None for anything else."""
    match = _SEQUENCE.match(inner)
    if match is None:
        return None
    first, last, step_text = match.groups()
    step = abs(int(step_text)) if step_text else 1
    step = step or 1
    if first.lstrip("-").isdigit() and last.lstrip("-").isdigit():
        a, b = int(first), int(last)
        if abs(b - a) // step > _MAX_BRACE_VALUES:
            raise _TooManyValues
        direction = step if b >= a else -step
        return [str(x) for x in range(a, b + (1 if direction > 0 else -1), direction)]
    if len(first) == 1 and len(last) == 1 and not first.isdigit() and not last.isdigit():
        a, b = ord(first), ord(last)
        direction = step if b >= a else -step
        return [chr(x) for x in range(a, b + (1 if direction > 0 else -1), direction)]
    return None
