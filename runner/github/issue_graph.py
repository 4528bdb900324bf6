"""GitHub's issue graph over REST: issues by label, their labels, sub-issues and "blocked by".

The feature tools (`runner.features`) keep a feature's state on GitHub itself: a feature is an
issue, its parent is the spec issue (a native sub-issue link) and its dependencies are native
`blocked_by` relations. This module is the only place those calls are made; it answers in plain
frozen `GraphIssue`s. It talks through `Rest`, the shape of `runner.github.http.GitHubHTTP`
(the one transport: retries, spacing of writes, typed errors without secrets).

GitHub names the other issue of a relation by its `id` (not its number): `GraphIssue.id`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from runner.github.auth import split_repo


class RestAnswer(Protocol):
    @property
    def data(self) -> Any: ...


class Rest(Protocol):
    """What this module needs of `runner.github.http.GitHubHTTP`."""

    def request(
        self, operation: str, method: str, path: str, *, json: Any = None
    ) -> RestAnswer: ...

    def paginate(
        self, operation: str, path: str, params: Mapping[str, str] | None = None
    ) -> list[Any]: ...


@dataclass(frozen=True)
class GraphIssue:
    number: int
    id: int
    title: str
    body: str
    state: str  # "open" | "closed"
    state_reason: str | None
    labels: tuple[str, ...]
    html_url: str

    def has_label(self, name: str) -> bool:
        return name.lower() in (label.lower() for label in self.labels)


class IssueGraphError(Exception):
    """GitHub answered something this module cannot read; the message says what."""


def graph_issue_from_json(data: Any) -> GraphIssue:
    """One issue from GitHub's JSON (`issue` schema); pull requests are refused."""
    if not isinstance(data, dict) or not isinstance(data.get("number"), int):
        raise IssueGraphError("GitHub answered with something that is not an issue")
    if data.get("pull_request"):
        raise IssueGraphError(f"#{data['number']} is a pull request, not an issue")
    labels = tuple(
        str(label["name"]) if isinstance(label, dict) else str(label)
        for label in data.get("labels") or ()
    )
    return GraphIssue(
        number=int(data["number"]),
        id=int(data["id"]),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        state=str(data.get("state") or "open"),
        state_reason=data.get("state_reason"),
        labels=labels,
        html_url=str(data.get("html_url") or ""),
    )


class IssueGraph:
    """The issues of one repository (`owner/name`) and the relations between them."""

    def __init__(self, rest: Rest, repo: str) -> None:
        split_repo(repo)
        self._rest = rest
        self.repo = repo
        self._base = f"/repos/{repo}/issues"

    # -- issues ---------------------------------------------------------------------------------

    def get(self, number: int) -> GraphIssue:
        answer = self._rest.request(f"reading issue #{number}", "GET", f"{self._base}/{number}")
        return graph_issue_from_json(answer.data)

    def list_labelled(self, label: str, *, state: str = "all") -> list[GraphIssue]:
        """Every issue (not pull request) carrying `label`, lowest number first."""
        items = self._rest.paginate(
            f"listing issues labelled {label}",
            self._base,
            {"labels": label, "state": state, "direction": "asc", "sort": "created"},
        )
        found = [graph_issue_from_json(i) for i in items if not i.get("pull_request")]
        return sorted(found, key=lambda issue: issue.number)

    def create(self, title: str, body: str, labels: Sequence[str]) -> GraphIssue:
        payload = {"title": title, "body": body, "labels": list(labels)}
        answer = self._rest.request("creating an issue", "POST", self._base, json=payload)
        return graph_issue_from_json(answer.data)

    def update(self, number: int, **fields: Any) -> GraphIssue:
        """PATCH the issue: title, body, state, state_reason, labels (the whole set)."""
        answer = self._rest.request(
            f"updating issue #{number}", "PATCH", f"{self._base}/{number}", json=fields
        )
        return graph_issue_from_json(answer.data)

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        self._rest.request(
            f"labelling issue #{number}",
            "POST",
            f"{self._base}/{number}/labels",
            json={"labels": list(labels)},
        )

    def remove_label(self, number: int, label: str) -> None:
        self._rest.request(
            f"removing label {label} from issue #{number}",
            "DELETE",
            f"{self._base}/{number}/labels/{quote(label, safe='')}",
        )

    # -- sub-issues -----------------------------------------------------------------------------

    def sub_issues(self, parent: int) -> list[GraphIssue]:
        items = self._rest.paginate(
            f"listing the sub-issues of #{parent}", f"{self._base}/{parent}/sub_issues"
        )
        return [graph_issue_from_json(i) for i in items]

    def add_sub_issue(self, parent: int, child: GraphIssue) -> None:
        self._rest.request(
            f"adding #{child.number} as a sub-issue of #{parent}",
            "POST",
            f"{self._base}/{parent}/sub_issues",
            json={"sub_issue_id": child.id},
        )

    # -- dependencies ---------------------------------------------------------------------------

    def blocked_by(self, number: int) -> list[GraphIssue]:
        items = self._rest.paginate(
            f"listing what blocks #{number}", f"{self._base}/{number}/dependencies/blocked_by"
        )
        return [graph_issue_from_json(i) for i in items]

    def add_blocked_by(self, number: int, blocker: GraphIssue) -> None:
        self._rest.request(
            f"marking #{number} as blocked by #{blocker.number}",
            "POST",
            f"{self._base}/{number}/dependencies/blocked_by",
            json={"issue_id": blocker.id},
        )

    def remove_blocked_by(self, number: int, blocker: GraphIssue) -> None:
        self._rest.request(
            f"removing #{blocker.number} from what blocks #{number}",
            "DELETE",
            f"{self._base}/{number}/dependencies/blocked_by/{blocker.id}",
        )
