"""Events that change who may write, and the permission look-ups they make stale.

`AppGitHub.permission` remembers an actor's permission on a repository for a short while, so
a burst of commands costs one look-up. A change of access must not wait for that to run out:
`member` (a collaborator added, removed or changed), `membership` (a team's members),
`organization` (members of the organisation) and `team` (a team's access to repositories)
forget what they may have changed, before the delivery is decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

ACCESS_EVENTS = frozenset({"member", "membership", "organization", "team"})


class ForgetsPermissions(Protocol):
    def forget_permissions(
        self, repository: str | None = None, login: str | None = None
    ) -> None: ...


def stale_permissions(event: str, payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(repository, login) whose remembered permissions `event` may have changed; None in a
    place means every repository / every login. Pure."""
    repo = payload.get("repository")
    repository = repo.get("full_name") if isinstance(repo, Mapping) else None
    repository = repository if isinstance(repository, str) else None
    if event == "member":
        return repository, _login(payload.get("member"))
    if event == "membership":
        return None, _login(payload.get("member"))
    if event == "organization":
        membership = payload.get("membership")
        user = membership.get("user") if isinstance(membership, Mapping) else None
        return None, _login(user)
    return repository, None  # team: its members' access to this repository (or to all)


def _login(user: Any) -> str | None:
    login = user.get("login") if isinstance(user, Mapping) else None
    return login if isinstance(login, str) else None


def forget_permissions(
    github: ForgetsPermissions | None, event: str, payload: Mapping[str, Any]
) -> None:
    if github is None or event not in ACCESS_EVENTS:
        return
    repository, login = stale_permissions(event, payload)
    github.forget_permissions(repository, login)
