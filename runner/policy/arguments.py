"""How each allowed command's arguments are read: which are paths, and which only text.

Most commands take paths, so by default every argument is checked as a path (inside the
worktree, after resolving). The table below names the exceptions: options whose value is text
(`head -n 5`, `cut -d /`), options whose value is a file written (`sort -o FILE`), a leading
pattern or script (`grep PATTERN`, `sed SCRIPT`, `chmod MODE`), and commands whose arguments are
all text (`echo`, `printf`, `tr`, `test`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from runner.policy.allowlist import names

__all__ = ["ArgSpec", "spec_for"]

Mode = Literal["read", "write", "free"]


@dataclass(frozen=True)
class ArgSpec:
    positional: Mode = "read"
    value_opts: frozenset[str] = frozenset()  # take a text value
    read_opts: frozenset[str] = frozenset()  # take a path that is read
    write_opts: frozenset[str] = frozenset()  # take a path that is written
    leading_text: int = 0  # positionals at the front that are text (a pattern, a script, a mode)
    no_leading_text_with: frozenset[str] = frozenset()  # ... unless one of these options is given
    write_with: frozenset[str] = frozenset()  # options that make positionals written (sed -i)
    last_written: bool = False  # the last positional is the destination (cp)
    written_at: int | None = None  # this positional (0-based) is an output file (`uniq IN OUT`)
    destructive: bool = False  # refuse arguments whose value is only known at run time
    forbidden: tuple[tuple[str, str], ...] = ()  # (option, why): options that start programs


_s = names


_GREP = ArgSpec(
    value_opts=_s(
        "-e --regexp -m --max-count -A -B -C --after-context --before-context --context"
        " --include --exclude --exclude-dir --label -d --directories -D --devices --color"
        " --colour --binary-files"
    ),
    read_opts=_s("-f --file --exclude-from"),
    leading_text=1,
    no_leading_text_with=_s("-e --regexp -f --file"),
)
_RG = ArgSpec(
    value_opts=_s(
        "-e --regexp -m --max-count -A -B -C --after-context --before-context --context -g"
        " --glob --iglob -t --type -T --type-not -M --max-columns -j --threads --max-depth -d"
        " --type-add -r --replace --sort --sortr --color --colors -E --encoding"
    ),
    read_opts=_s("-f --file --ignore-file"),
    leading_text=1,
    no_leading_text_with=_s("-e --regexp -f --file"),
)
_AWK = ArgSpec(
    value_opts=_s("-v --assign -F --field-separator"),
    read_opts=_s("-f --file -i --include"),
    leading_text=1,
    no_leading_text_with=_s("-f --file"),
)
_FREE = ArgSpec(positional="free")
_RUNS = "starts a program of the caller's choosing, which the policy cannot judge; run it yourself"
_TAR = ArgSpec(
    value_opts=_s(
        "--exclude --transform --xform --owner --group --mode -b --blocking-factor -H --format"
        " -K --starting-file -N --newer --after-date --mtime -V --label -L --tape-length"
        " --strip-components --checkpoint --occurrence --sort --record-size --suffix"
    ),
    read_opts=_s("-T --files-from -X --exclude-from"),
    write_opts=_s("-C --directory -f --file -g --listed-incremental --index-file --backup"),
    forbidden=tuple(
        (option, _RUNS)
        for option in (
            "-I",
            "--use-compress-program",
            "--to-command",
            "--checkpoint-action",
            "-F",
            "--info-script",
            "--new-volume-script",
            "--rsh-command",
            "--rmt-command",
        )
    ),
)
_FREE_COMMANDS = names(
    """
    echo printf tr test [ true false : which type pwd sleep seq date expr uname
    whoami id basename dirname exit wait shift set unset umask printenv
    """
)

_SPECS: dict[str, ArgSpec] = {
    # all text
    **{name: _FREE for name in _FREE_COMMANDS},
    "head": ArgSpec(value_opts=_s("-n -c --lines --bytes")),
    "tail": ArgSpec(value_opts=_s("-n -c --lines --bytes -s --sleep-interval")),
    "cut": ArgSpec(value_opts=_s("-d -f -b -c --delimiter --fields --bytes --characters")),
    "sort": ArgSpec(
        value_opts=_s("-t -k -S --field-separator --key --buffer-size"),
        read_opts=_s("-T --temporary-directory"),
        write_opts=_s("-o --output"),
        forbidden=(("--compress-program", _RUNS),),
    ),
    "uniq": ArgSpec(value_opts=_s("-f -s -w --skip-fields --skip-chars"), written_at=1),
    "ls": ArgSpec(value_opts=_s("-I --ignore --hide -w --width -T")),
    "grep": _GREP,
    "egrep": _GREP,
    "fgrep": _GREP,
    "rg": _RG,
    "awk": _AWK,
    "gawk": _AWK,
    "mawk": _AWK,
    "sed": ArgSpec(
        value_opts=_s("-e --expression -l --line-length"),
        read_opts=_s("-f --file"),
        leading_text=1,
        no_leading_text_with=_s("-e --expression -f --file"),
        write_with=_s("-i --in-place"),
    ),
    "jq": ArgSpec(
        value_opts=_s("--arg --argjson --indent --tab"),
        read_opts=_s("--slurpfile --rawfile -f --from-file"),
        leading_text=1,
    ),
    "cp": ArgSpec(write_opts=_s("-t --target-directory"), last_written=True),
    "mv": ArgSpec(positional="write", write_opts=_s("-t --target-directory"), destructive=True),
    "rm": ArgSpec(positional="write", destructive=True),
    "rmdir": ArgSpec(positional="write", destructive=True),
    "chmod": ArgSpec(
        positional="write",
        read_opts=_s("--reference"),
        leading_text=1,
        destructive=True,
        no_leading_text_with=_s("--reference"),
    ),
    "mkdir": ArgSpec(positional="write", value_opts=_s("-m --mode")),
    "touch": ArgSpec(
        positional="write", value_opts=_s("-d -t --date"), read_opts=_s("-r --reference")
    ),
    "tee": ArgSpec(positional="write"),
    "truncate": ArgSpec(
        positional="write", value_opts=_s("-s --size"), read_opts=_s("-r --reference")
    ),
    "tar": _TAR,
    "gzip": ArgSpec(positional="write", value_opts=_s("-S --suffix")),
    "gunzip": ArgSpec(positional="write", value_opts=_s("-S --suffix")),
    "zip": ArgSpec(
        value_opts=_s("-b -n -t -tt -P --password -x -i"),
        forbidden=(("-TT", _RUNS), ("--unzip-command", _RUNS)),
        written_at=0,
    ),
    "patch": ArgSpec(
        value_opts=_s("-p --strip -F --fuzz -D --ifdef -z --suffix -V -g -Y --basename-prefix"),
        read_opts=_s("-i --input"),
        write_opts=_s("-o --output -r --reject-file -d --directory -B --prefix"),
        written_at=0,
    ),
    "unzip": ArgSpec(write_opts=_s("-d")),
    "diff": ArgSpec(value_opts=_s("-U -C --unified --context --label -L -I")),
    "du": ArgSpec(value_opts=_s("-d --max-depth --exclude -B --block-size")),
    "tree": ArgSpec(value_opts=_s("-L -P -I --filelimit")),
    "paste": ArgSpec(value_opts=_s("-d --delimiters")),
    "join": ArgSpec(value_opts=_s("-t -1 -2 -j -o -e")),
    "column": ArgSpec(value_opts=_s("-s -t -o -c -N")),
    "fold": ArgSpec(value_opts=_s("-w --width")),
    "nl": ArgSpec(value_opts=_s("-s -w -b -n -v -i")),
    "od": ArgSpec(value_opts=_s("-t -A -j -N -w")),
    "xxd": ArgSpec(value_opts=_s("-l -s -c -g -o -n --name"), written_at=1),
    "hexdump": ArgSpec(value_opts=_s("-n -s -e")),
    "stat": ArgSpec(value_opts=_s("-c --format --printf")),
}


def spec_for(name: str) -> ArgSpec:
    """How `name`'s arguments are read; the default treats every argument as a path read."""
    return _SPECS.get(name, ArgSpec())
