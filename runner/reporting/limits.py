"""GitHub's size limits for text autocoder writes, and fitting text within them."""

from __future__ import annotations

CHECK_RUN_TEXT_LIMIT = 65_535  # output.summary and output.text, each
COMMENT_LIMIT = 65_536
TRUNCATION_NOTE = "\n\n…(truncated to fit GitHub's size limit)"


def fit(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its head with a visible note."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_NOTE)] + TRUNCATION_NOTE
