"""`git`: the hard rules (`rules.git_rules`), then its paths: `-C DIR` is read, paths given to
options that write (`--output`, `checkout-index --prefix`) are written, the rest are read."""

from __future__ import annotations

from runner.policy.allowlist import names
from runner.policy.arguments import ArgSpec
from runner.policy.rules.generic import check_arguments
from runner.policy.rules.git_rules import git_dirs, git_refusal, git_written
from runner.policy.shell_text import Word
from runner.policy.walking import Cwds, Refused, Walker

__all__ = ["git"]

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


def git(w: Walker, name: str, args: list[Word], cwds: Cwds) -> Cwds:
    reason, rest = git_refusal(args)
    if reason:
        raise Refused(reason)
    for directory in git_dirs(args):
        w.check_word(name, directory, cwds, write=False, strict=True)
    for written in git_written(args):
        w.check_word(name, written, cwds, write=True, strict=True)
    check_arguments(w, name, list(rest), cwds, _GIT_ARGS)
    return cwds
