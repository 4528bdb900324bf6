"""`GitHubClient`'s pull request calls: finding, opening (never twice) and updating a pull
request, review requests, reviews and review comments."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from runner.github.auth import split_repo
from runner.github.client_base import ClientBase, _head_branch, _repo_path
from runner.github.convert import pull_from_json, review_comment_from_json, review_from_json
from runner.github.errors import GitHubError
from runner.github.types import PullInfo, ReviewCommentInfo, ReviewInfo

_log = logging.getLogger(__name__)


class PullCalls(ClientBase):
    """Pull request and review calls."""

    # -- pull requests ------------------------------------------------------------------------

    def find_open_pull(self, repo: str, head_branch: str) -> PullInfo | None:
        """The open pull request whose head is `head_branch` of `repo` itself, if any."""
        owner, _ = split_repo(repo)
        branch = _head_branch(head_branch)
        operation = f"looking for an open pull request from {branch} in {repo}"
        pulls = self._http.paginate(
            operation, f"{_repo_path(repo)}/pulls", {"state": "open", "head": f"{owner}:{branch}"}
        )
        for data in pulls:
            head = data.get("head") or {}
            head_repo = (head.get("repo") or {}).get("full_name")
            if head.get("ref") == branch and head_repo in (None, repo):
                return self._remember(repo, pull_from_json(data))
        return None

    def create_pull(
        self,
        repo: str,
        *,
        title: str,
        body: str,
        head: str,
        base: str,
        draft: bool = False,
    ) -> PullInfo:
        """Open a pull request, or return the open one that already exists for `head`.

        Never creates a duplicate: after an ambiguous failure, or GitHub's 422 "A pull request
        already exists", the open pull request for `head` is looked up and returned."""
        operation = f"opening a pull request from {head} into {base} in {repo}"

        def lookup() -> PullInfo | None:
            return self.find_open_pull(repo, head)

        def post(as_draft: bool) -> PullInfo:
            fields = {"title": title, "body": body, "head": head, "base": base, "draft": as_draft}
            data = self._send(operation, "POST", f"{_repo_path(repo)}/pulls", fields)
            return self._remember(repo, pull_from_json(data))

        try:
            return self._create_once(operation, lambda: post(draft), lookup)
        except GitHubError as error:
            if error.status != 422:
                raise
            detail = str(error).lower()
            if "already exists" in detail:
                existing = lookup()
                if existing is not None:
                    _log.info("%s: pull request #%d already exists", operation, existing.number)
                    return existing
            elif draft and "draft" in detail:
                _log.warning("%s: draft pull requests unsupported; opening a ready one", operation)
                return self._create_once(operation, lambda: post(False), lookup)
            raise

    def get_pull(self, repo: str, number: int) -> PullInfo:
        operation = f"reading pull request #{number} of {repo}"
        data = self._send(operation, "GET", f"{_repo_path(repo)}/pulls/{int(number)}")
        return self._remember(repo, pull_from_json(data))

    def update_pull(
        self, repo: str, number: int, *, title: str | None = None, body: str | None = None
    ) -> PullInfo:
        changes = {k: v for k, v in (("title", title), ("body", body)) if v is not None}
        if not changes:
            return self.get_pull(repo, number)
        operation = f"updating pull request #{number} of {repo}"
        data = self._send(operation, "PATCH", f"{_repo_path(repo)}/pulls/{int(number)}", changes)
        return self._remember(repo, pull_from_json(data))

    def request_reviewers(self, repo: str, number: int, users: Iterable[str]) -> list[str]:
        """Ask `users` to review #number; returns who was asked. The author is skipped (GitHub
        refuses it); a user GitHub refuses (422, e.g. not a collaborator) is skipped with a
        warning. The author comes from the pull request this client already has, if any."""
        known = self._pulls.get((repo.lower(), int(number)))
        author = (known or self.get_pull(repo, number)).author.lower()
        wanted: list[str] = []
        for user in users:
            if user and user.lower() != author and user.lower() not in map(str.lower, wanted):
                wanted.append(user)
        if not wanted:
            return []
        operation = f"requesting reviews on #{number} in {repo}"
        path = f"{_repo_path(repo)}/pulls/{int(number)}/requested_reviewers"

        def ask(logins: list[str]) -> bool:
            try:
                self._http.request(operation, "POST", path, json={"reviewers": logins})
                return True
            except GitHubError as error:
                if error.status != 422:
                    raise
                _log.warning(
                    "GitHub refused review requests for %s on %s#%d: %s",
                    ", ".join(logins),
                    repo,
                    number,
                    error,
                )
                return False

        if ask(wanted):
            return wanted
        if len(wanted) == 1:
            return []
        return [user for user in wanted if ask([user])]

    def list_reviews(self, repo: str, number: int) -> list[ReviewInfo]:
        operation = f"listing reviews of #{number} in {repo}"
        items = self._http.paginate(operation, f"{_repo_path(repo)}/pulls/{int(number)}/reviews")
        return [review_from_json(r) for r in items if isinstance(r, dict)]

    def list_review_comments(
        self, repo: str, number: int, review_id: int | None = None
    ) -> list[ReviewCommentInfo]:
        """Review comments on #number: all of them, or those of one review."""
        operation = f"listing review comments of #{number} in {repo}"
        pull = f"{_repo_path(repo)}/pulls/{int(number)}"
        path = (
            f"{pull}/comments" if review_id is None else f"{pull}/reviews/{int(review_id)}/comments"
        )
        items = self._http.paginate(operation, path)
        return [review_comment_from_json(c) for c in items if isinstance(c, dict)]

    def reply_to_review_comment(
        self, repo: str, number: int, comment_id: int, body: str
    ) -> ReviewCommentInfo:
        operation = f"replying to review comment {comment_id} in {repo}"

        def post() -> ReviewCommentInfo:
            # POST .../pulls/{n}/comments with `in_reply_to` (GitHub: "all parameters other than
            # body are ignored"); equivalent to .../comments/{id}/replies, and the form the
            # emulator serves too.
            data = {"body": body, "in_reply_to": int(comment_id)}
            path = f"{_repo_path(repo)}/pulls/{int(number)}/comments"
            return review_comment_from_json(self._send(operation, "POST", path, data))

        def lookup() -> ReviewCommentInfo | None:
            matches = [
                c
                for c in self.list_review_comments(repo, number)
                if c.in_reply_to_id == comment_id and c.body == body
            ]
            return matches[-1] if matches else None

        return self._create_once(operation, post, lookup)
