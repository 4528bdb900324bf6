"""Who a commit is by, and the trailers that credit the person who asked for it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNSAFE = re.compile(r"[<>\x00-\x1f\x7f]+")
_SPACES = re.compile(r"\s+")

CO_AUTHOR_TRAILER = "Co-authored-by"
SESSION_TRAILER = "Autocoder-Session"


@dataclass(frozen=True)
class Identity:
    """A git identity: `Name <email>`."""

    name: str
    email: str

    def __post_init__(self) -> None:
        if not _clean(self.name) or not _clean(self.email):
            raise ValueError(f"identity needs a name and an email, got {self!r}")

    def formatted(self) -> str:
        """`Name <email>`, with characters that would break a header or trailer removed."""
        return f"{_clean(self.name)} <{_clean(self.email)}>"

    def env(self) -> dict[str, str]:
        """Author and committer for one git command (never set in os.environ)."""
        name, email = _clean(self.name), _clean(self.email)
        return {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _UNSAFE.sub(" ", text)).strip()


def commit_trailers(co_authors: tuple[Identity, ...], session_id: str) -> list[tuple[str, str]]:
    """The trailers of a session's commit, in order: co-authors, then the session id."""
    session = _clean(session_id)
    if not session:
        raise ValueError("session id is empty")
    trailers = [(CO_AUTHOR_TRAILER, person.formatted()) for person in co_authors]
    trailers.append((SESSION_TRAILER, session))
    return trailers
