"""`GitHubClient`: every GitHub REST call the runner makes, typed.

Rules kept here:
- Requests go through `GitHubHTTP` (one retry policy, one error type, one request hook); each
  method sends exactly the requests it names and converts GitHub's JSON to our dataclasses
  (`runner.github.convert`), so nothing outside this package sees GitHub's JSON.
- No call whose answer the client already has: the comments of an issue it listed (kept up to
  date with the comments it writes) and the pull requests it read or wrote are remembered for
  the life of the client (one session), e.g. the status-comment lookup and the review request
  after opening a pull request send nothing extra.
- A create that fails ambiguously (5xx, broken connection) is retried only after a lookup proved
  that it left nothing behind (`_create_once`); lookups always ask GitHub.
- Mutating requests are spaced by `seconds_between_writes`.
- `requests_sent` counts the HTTP exchanges of this client (the session reports it).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

from runner.github.auth import AppCredentials, GitHubCredentials, split_repo
from runner.github.checks import action_payload, build_output
from runner.github.convert import (
    check_run_from_json,
    comment_from_json,
    issue_from_json,
    pull_from_json,
    rate_limit_from_json,
    repo_from_json,
    review_comment_from_json,
    review_from_json,
)
from runner.github.errors import GitHubError
from runner.github.http import GitHubHTTP, RequestHook
from runner.github.retry import RetryPolicy
from runner.github.types import (
    CheckRunAction,
    CheckRunInfo,
    CommentInfo,
    IssueInfo,
    PullInfo,
    RateLimitInfo,
    RepoInfo,
    ReviewCommentInfo,
    ReviewInfo,
)

T = TypeVar("T")

_log = logging.getLogger(__name__)

Permission = Literal["admin", "maintain", "write", "triage", "read", "none"]
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
REACTIONS = frozenset({"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"})
CHECK_STATUSES = frozenset(
    {"queued", "in_progress", "completed", "waiting", "requested", "pending"}
)
CHECK_CONCLUSIONS = frozenset(
    {
        "action_required",
        "cancelled",
        "failure",
        "neutral",
        "success",
        "skipped",
        "stale",
        "timed_out",
    }
)


def _head_branch(head: str) -> str:
    return head.split(":", 1)[1] if ":" in head else head


def _repo_path(repo: str) -> str:
    owner, name = split_repo(repo)
    return f"/repos/{owner}/{name}"


def _object(data: Any, operation: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise GitHubError(f"{operation}: GitHub's answer is not an object")
    return data


class GitHubClient:
    """GitHub REST for autocoder. Thread-compatible, not thread-safe: give each worker thread
    its own client (they may share credentials)."""

    def __init__(
        self,
        credentials: GitHubCredentials,
        *,
        base_url: str | None = None,
        seconds_between_writes: float = 1.0,
        write_burst: int = 0,
        retry: RetryPolicy | None = None,
        request_hook: RequestHook | None = None,
        timeout: float = 30,
        user_agent: str = "autocoder",
    ) -> None:
        """`base_url` defaults to the credentials' (https://api.github.com unless set); GHES is
        `https://HOST/api/v3`. `request_hook` is called once per HTTP exchange (metrics)."""
        self._credentials = credentials
        self._retry = retry or RetryPolicy()
        self.base_url = (base_url or credentials.base_url).rstrip("/")
        self._http = GitHubHTTP(
            self.base_url,
            authorization=credentials.authorization,
            secrets=credentials.secrets,
            retry=self._retry,
            request_hook=request_hook,
            seconds_between_writes=seconds_between_writes,
            write_burst=write_burst,
            timeout=timeout,
            user_agent=user_agent,
        )
        self._comments: dict[tuple[str, int], list[CommentInfo]] = {}
        self._pulls: dict[tuple[str, int], PullInfo] = {}

    def __repr__(self) -> str:
        return f"GitHubClient(base_url={self.base_url!r}, credentials={self._credentials!r})"

    @property
    def requests_sent(self) -> int:
        """HTTP exchanges with GitHub so far (retries included; token minting is counted by
        the credentials' own hook)."""
        return self._http.requests_sent

    def add_request_hook(self, hook: RequestHook) -> None:
        self._http.add_hook(hook)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------

    def _send(
        self, operation: str, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return _object(self._http.request(operation, method, path, json=payload).data, operation)

    def _remember(self, repo: str, pull: PullInfo) -> PullInfo:
        self._pulls[(repo.lower(), pull.number)] = pull
        return pull

    def _create_once(
        self,
        operation: str,
        post: Callable[[], T],
        lookup: Callable[[], T | None] | None,
    ) -> T:
        """Send a non-idempotent POST without ever doing its work twice.

        A 5xx or a broken connection leaves it unknown whether GitHub did the work: `lookup`
        (if any) checks, and only when it finds nothing is the POST sent again, up to
        `retry.retries` more times with exponential backoff. Rate limits were already waited
        out underneath (GitHub does nothing for a rate-limited request)."""
        attempts = self._retry.retries + 1
        last: GitHubError | None = None
        for attempt in range(1, attempts + 1):
            time.sleep(self._retry.backoff(attempt))
            try:
                return post()
            except GitHubError as error:
                if not error.ambiguous:
                    raise
                last = error
                _log.warning(
                    "%s: attempt %d/%d failed (%s); checking whether it took effect",
                    operation,
                    attempt,
                    attempts,
                    error.status or "connection",
                )
            if lookup is not None:
                found = lookup()
                if found is not None:
                    _log.info("%s: an earlier attempt had succeeded; using its result", operation)
                    return found
        assert last is not None
        raise GitHubError(
            f"{last.message} ({attempts} attempts)", status=last.status, ambiguous=True
        ) from last

    # -- what these credentials may do --------------------------------------------------------

    def can_create_check_runs(self) -> bool:
        """Whether these credentials may create check runs: GitHub allows only Apps, so App
        credentials and installation tokens (the Actions GITHUB_TOKEN is one) may, a personal
        token may not. Credentials that know (`installation`) answer without a request;
        another token is asked once, cheaply: only an installation token may list
        GET /installation/repositories."""
        if isinstance(self._credentials, AppCredentials) or self._credentials.installation:
            return True
        if self._credentials.installation is False:
            return False
        try:
            self._http.request(
                "asking whether this token belongs to a GitHub App",
                "GET",
                "/installation/repositories",
                params={"per_page": "1"},
            )
        except GitHubError as error:
            if error.status in (401, 403, 404):
                return False
            raise
        return True

    # -- repositories and permissions ---------------------------------------------------------

    def get_repository(self, repo: str) -> RepoInfo:
        operation = f"reading repository {repo}"
        return repo_from_json(self._send(operation, "GET", _repo_path(repo)))

    def get_permission(self, repo: str, username: str) -> str:
        """The user's permission on `repo`: "admin", "write", "read" or "none" (GitHub's
        `permission` field; GitHub may also say "maintain" or "triage")."""
        operation = f"reading {username}'s permission on {repo}"
        path = f"{_repo_path(repo)}/collaborators/{username}/permission"
        try:
            data = self._send(operation, "GET", path)
        except GitHubError as error:
            if error.status == 404:  # no such user, or not visible: no access
                return "none"
            raise
        return str(data.get("permission") or "none")

    def can_write(self, repo: str, username: str) -> bool:
        """Whether `username` may push to `repo` (admin, maintain or write)."""
        return self.get_permission(repo, username) in WRITE_PERMISSIONS

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

    # -- check runs -----------------------------------------------------------------------------

    def create_check_run(
        self,
        repo: str,
        *,
        name: str,
        head_sha: str,
        status: str = "in_progress",
        title: str,
        summary: str,
        text: str | None = None,
        actions: Sequence[CheckRunAction] = (),
        conclusion: str | None = None,
        details_url: str | None = None,
        external_id: str | None = None,
    ) -> CheckRunInfo:
        """Create a check run on `head_sha` (already `completed` when given a conclusion).
        Summary and text are cut to GitHub's limit.

        `external_id` (default: a fresh random id) makes the create safe to retry: after an
        ambiguous failure, a run with this name and external id on `head_sha` is looked up."""
        _check_status(status, conclusion)
        ext_id = external_id or uuid.uuid4().hex
        payload: dict[str, Any] = {
            "name": name,
            "head_sha": head_sha,
            "status": status,
            "output": build_output(title, summary, text),
            "external_id": ext_id,
        }
        if actions:
            payload["actions"] = action_payload(actions)
        if conclusion is not None:
            payload["conclusion"] = conclusion
        if details_url is not None:
            payload["details_url"] = details_url
        operation = f"creating check run {name!r} in {repo}"

        def post() -> CheckRunInfo:
            data = self._send(operation, "POST", f"{_repo_path(repo)}/check-runs", payload)
            return check_run_from_json(data)

        def lookup() -> CheckRunInfo | None:
            for data in self._check_run_payloads(repo, head_sha, name):
                if data.get("external_id") == ext_id:
                    return check_run_from_json(data)
            return None

        return self._create_once(operation, post, lookup)

    def update_check_run(
        self,
        repo: str,
        check_run_id: int,
        *,
        status: str | None = None,
        conclusion: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        actions: Sequence[CheckRunAction] | None = None,
    ) -> CheckRunInfo:
        """Change a check run. A conclusion completes it; output needs `title` and `summary`
        together (GitHub's rule); `actions=()` removes the buttons."""
        if status is not None or conclusion is not None:
            _check_status(status or "completed", conclusion)
        payload: dict[str, Any] = {}
        if status is not None:
            payload["status"] = status
        if conclusion is not None:
            payload["conclusion"] = conclusion
        if title is not None or summary is not None or text is not None:
            if title is None or summary is None:
                raise ValueError("a check run's output needs both title and summary")
            payload["output"] = build_output(title, summary, text)
        if actions is not None:
            payload["actions"] = action_payload(actions)
        operation = f"updating check run {check_run_id} in {repo}"
        path = f"{_repo_path(repo)}/check-runs/{int(check_run_id)}"
        return check_run_from_json(self._send(operation, "PATCH", path, payload))

    def _check_run_payloads(self, repo: str, ref: str, name: str | None) -> list[dict[str, Any]]:
        operation = f"listing check runs on {ref} in {repo}"
        params = {"check_name": name} if name else None
        items = self._http.paginate(
            operation, f"{_repo_path(repo)}/commits/{ref}/check-runs", params, key="check_runs"
        )
        return [item for item in items if isinstance(item, dict)]

    def list_check_runs(self, repo: str, ref: str, name: str | None = None) -> list[CheckRunInfo]:
        return [check_run_from_json(d) for d in self._check_run_payloads(repo, ref, name)]

    # -- rate limit -----------------------------------------------------------------------------

    def rate_limit(self) -> RateLimitInfo:
        """The core REST rate limit (GET /rate_limit, which does not count against it)."""
        return rate_limit_from_json(self._send("reading the rate limit", "GET", "/rate_limit"))


def _check_status(status: str, conclusion: str | None) -> None:
    if status not in CHECK_STATUSES:
        raise ValueError(
            f"check run status must be one of {sorted(CHECK_STATUSES)}, got {status!r}"
        )
    if conclusion is not None and conclusion not in CHECK_CONCLUSIONS:
        raise ValueError(
            f"check run conclusion must be one of {sorted(CHECK_CONCLUSIONS)}, got {conclusion!r}"
        )
    if status == "completed" and conclusion is None:
        raise ValueError("a completed check run needs a conclusion")
