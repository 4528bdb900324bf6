"""Cleaning text that comes from people on GitHub before a model reads it.

Issue bodies and comments are untrusted: they may hide instructions in HTML comments or in
characters a reviewer cannot see. What the model reads should be what a person sees.
"""

from __future__ import annotations

import re
import unicodedata

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# Unicode "tag" characters (U+E0000..U+E007F) spell hidden ASCII; variation selectors can carry
# data too. Format characters (category Cf: zero-width spaces and joiners, bidi overrides, soft
# hyphen, word joiner, BOM...) are invisible.
_HIDDEN_RANGES = ((0xE0000, 0xE007F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
_KEPT_CONTROLS = {"\n", "\t"}


def _is_hidden(ch: str) -> bool:
    code = ord(ch)
    if any(lo <= code <= hi for lo, hi in _HIDDEN_RANGES):
        return True
    category = unicodedata.category(ch)
    if category == "Cf":
        return True
    return category == "Cc" and ch not in _KEPT_CONTROLS


def strip_hidden_text(text: str) -> str:
    """Remove HTML comments and invisible characters; normalise line endings."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _HTML_COMMENT.sub("", text)
    return "".join(ch for ch in text if not _is_hidden(ch))


def fence(text: str, label: str) -> str:
    """Wrap untrusted text in a fence it cannot close early."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{label}\n{text}\n{ticks}"
