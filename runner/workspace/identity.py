"""Who a commit is by, and the trailers that credit the person who asked for it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNSAFE = re.compile(r"[<>\x00-\x1f\x7f]+")
_SPACES = re.compile(r"\s+")

CO_AUTHOR_TRAILER = "Co-authored-by"
SESSION_TRAILER = "Autocoder-Session"
# On a session's last commit when its engine finished its turn (not stopped by a limit, a
# timeout, a cancellation or an error): an attempt that finds this head on the branch, left by
# an interrupted session, delivers it without running the model again (runner.resume).
ENGINE_TRAILER = "Autocoder-Engine"
ENGINE_FINISHED = "finished"


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


def commit_trailers(
    co_authors: tuple[Identity, ...], session_id: str, *, engine_finished: bool = False
) -> list[tuple[str, str]]:
    """The trailers of a session's commit, in order: co-authors, the session id, then
    `Autocoder-Engine: finished` when the engine finished its work."""
    session = _clean(session_id)
    if not session:
        raise ValueError("session id is empty")
    trailers = [(CO_AUTHOR_TRAILER, person.formatted()) for person in co_authors]
    trailers.append((SESSION_TRAILER, session))
    if engine_finished:
        trailers.append((ENGINE_TRAILER, ENGINE_FINISHED))
    return trailers


def same_email(identity: Identity, email: str) -> bool:
    """Whether `email` (as git prints it) is `identity`'s (case-insensitive)."""
    return _clean(email).casefold() == _clean(identity.email).casefold()
