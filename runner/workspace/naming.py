"""The name of the branch a session works on: `autocoder/issue-<N>-<slug>`."""

from __future__ import annotations

import re
import unicodedata

BRANCH_PREFIX = "autocoder/issue-"
SLUG_MAX_LENGTH = 40

# Letters that Unicode decomposition does not reduce to ASCII but that have a usual spelling.
_TRANSLITERATIONS = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "ł": "l",
        "Ł": "l",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
    }
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(title: str, max_length: int = SLUG_MAX_LENGTH) -> str:
    """Lowercase ASCII words of `title` joined by '-', at most `max_length` characters.

    Accented letters lose their accents, other non-ASCII text is dropped; the result may be
    empty. A slug that must be cut is cut at a word boundary when one is near the limit.
    """
    ascii_text = (
        unicodedata.normalize("NFKD", title.translate(_TRANSLITERATIONS))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    slug = _NOT_ALNUM.sub("-", ascii_text.lower()).strip("-")
    if len(slug) <= max_length:
        return slug
    cut = slug[: max_length + 1]
    boundary = cut.rfind("-")
    if boundary >= max_length // 2:
        return cut[:boundary].strip("-")
    return slug[:max_length].strip("-")


def branch_name(issue_number: int, title: str) -> str:
    """`autocoder/issue-<N>-<slug>`, or `autocoder/issue-<N>` when the title has no usable word.

    Always a valid branch name for `git check-ref-format --branch`: only [a-z0-9-] after the
    prefix, no '..', no '.lock', no leading or trailing '-'.
    """
    if isinstance(issue_number, bool) or not isinstance(issue_number, int) or issue_number < 1:
        raise ValueError(f"issue number must be a positive integer, not {issue_number!r}")
    slug = slugify(title)
    return f"{BRANCH_PREFIX}{issue_number}-{slug}" if slug else f"{BRANCH_PREFIX}{issue_number}"
