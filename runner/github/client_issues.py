"""`GitHubClient`'s issue calls: reading an issue, listing (and remembering), writing and
finding its comments, and reactions."""

from __future__ import annotations

from collections.abc import Iterable

from runner.github.client_base import ClientBase, _repo_path
from runner.github.convert import comment_from_json, issue_from_json
from runner.github.types import CommentInfo, IssueInfo

REACTIONS = frozenset({"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"})


class IssueCalls(ClientBase):
    """Issue, comment and reaction calls."""

    # -- issues and comments --------------------------------------------------------------------

    def get_issue(self, repo: str, number: int) -> IssueInfo:
        operation = f"reading issue #{number} of {repo}"
        return issue_from_json(self._send(operation, "GET", f"{_repo_path(repo)}/issues/{number}"))

    def list_issue_comments(
        self, repo: str, number: int, *, fresh: bool = True
    ) -> list[CommentInfo]:
        """The comments of #number, oldest first. `fresh=False`: the listing this client
        already has (kept up to date with the comments it wrote), if any."""
        key = (repo.lower(), int(number))
        if not fresh and key in self._comments:
            return list(self._comments[key])
        operation = f"listing comments of #{number} in {repo}"
        items = self._http.paginate(operation, f"{_repo_path(repo)}/issues/{number}/comments")
        comments = [comment_from_json(c) for c in items if isinstance(c, dict)]
        self._comments[key] = comments
        return list(comments)

    def know_issue_comments(self, repo: str, number: int, comments: Iterable[CommentInfo]) -> None:
        """Take `comments` as #number's listing (what a webhook said, e.g. that it has none),
        so `fresh=False` readers do not list them again."""
        self._comments[(repo.lower(), int(number))] = list(comments)

    def find_issue_comment(self, repo: str, number: int, marker: str) -> CommentInfo | None:
        """The first comment on #number whose body contains `marker` (a hidden `<!-- ... -->`);
        from the listing this client already has, if any."""
        if not marker:
            raise ValueError("marker must not be empty")
        for comment in self.list_issue_comments(repo, number, fresh=False):
            if marker in comment.body:
                return comment
        return None

    def _keep_comment(self, repo: str, number: int | None, comment: CommentInfo) -> CommentInfo:
        for (kept_repo, kept_number), comments in self._comments.items():
            if kept_repo != repo.lower() or number not in (None, kept_number):
                continue
            ids = [c.id for c in comments]
            if comment.id in ids:
                comments[ids.index(comment.id)] = comment
            elif number is not None:
                comments.append(comment)
        return comment

    def create_issue_comment(self, repo: str, number: int, body: str) -> CommentInfo:
        path = f"{_repo_path(repo)}/issues/{number}/comments"
        operation = f"commenting on #{number} in {repo}"

        def post() -> CommentInfo:
            return comment_from_json(self._send(operation, "POST", path, {"body": body}))

        def lookup() -> CommentInfo | None:
            matches = [c for c in self.list_issue_comments(repo, number) if c.body == body]
            return matches[-1] if matches else None

        created = self._create_once(operation, post, lookup)
        return self._keep_comment(repo, number, created)

    def edit_issue_comment(self, repo: str, comment_id: int, body: str) -> CommentInfo:
        operation = f"editing comment {comment_id} in {repo}"
        path = f"{_repo_path(repo)}/issues/comments/{int(comment_id)}"
        edited = comment_from_json(self._send(operation, "PATCH", path, {"body": body}))
        return self._keep_comment(repo, None, edited)

    def add_issue_reaction(self, repo: str, number: int, content: str = "eyes") -> None:
        """React to issue (or pull request) #number; reacting twice is harmless."""
        if content not in REACTIONS:
            raise ValueError(f"reaction must be one of {sorted(REACTIONS)}, got {content!r}")
        self._send(
            f"reacting to #{number} in {repo}",
            "POST",
            f"{_repo_path(repo)}/issues/{number}/reactions",
            {"content": content},
        )

    def add_comment_reaction(self, repo: str, comment_id: int, content: str = "eyes") -> None:
        """React to an issue (or pull request) comment; reacting twice is harmless."""
        if content not in REACTIONS:
            raise ValueError(f"reaction must be one of {sorted(REACTIONS)}, got {content!r}")
        self._send(
            f"reacting to comment {comment_id} in {repo}",
            "POST",
            f"{_repo_path(repo)}/issues/comments/{int(comment_id)}/reactions",
            {"content": content},
        )
