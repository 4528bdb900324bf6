"""`GitHubClient`: every GitHub REST call autocoder makes, and the only user of PyGithub.

Rules kept here:
- No PyGithub object leaves this module; results are converted from the JSON GitHub sent
  (`_payload`), never by reading PyGithub attributes, which on a partially loaded object would
  silently send a GET. The `Github` object is lazy, so navigating (`get_repo`, `get_issue`, ...)
  sends nothing; the only requests are the ones each method names.
- Retries: see `runner.github.retry`. A create that fails ambiguously (5xx, broken connection)
  is retried only after a lookup proved that it left nothing behind (`_create_once`).
- Mutating requests are spaced by `seconds_between_writes` (PyGithub's own throttle).
- Failures raise typed `GitHubError`s whose messages never contain a secret.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar, cast

from github import Github, GithubObject
from github.GithubException import GithubException
from github.GithubObject import NotSet
from github.Repository import Repository

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
from runner.github.retry import RetryPolicy
from runner.github.translate import GITHUB_FAILURES, TRANSIENT_EXCEPTIONS, github_message, translate
from runner.github.transport import RequestHook, install_request_hook
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


def _payload(obj: GithubObject.GithubObject) -> dict[str, Any]:
    """The JSON GitHub sent for `obj`. Unlike `raw_data`, this never completes a partially loaded
    object, so it never sends a request."""
    return cast(dict[str, Any], obj._rawData)


def _is_ambiguous(exc: BaseException) -> bool:
    """True when GitHub may or may not have carried out the request."""
    if isinstance(exc, GithubException):
        return exc.status >= 500
    return isinstance(exc, TRANSIENT_EXCEPTIONS)


def _head_branch(head: str) -> str:
    return head.split(":", 1)[1] if ":" in head else head


class GitHubClient:
    """GitHub REST for autocoder, over PyGithub. Thread-compatible, not thread-safe: give each
    worker thread its own client (they may share credentials)."""

    def __init__(
        self,
        credentials: GitHubCredentials,
        *,
        base_url: str | None = None,
        seconds_between_writes: float = 1.0,
        seconds_between_requests: float | None = None,
        retry: RetryPolicy | None = None,
        request_hook: RequestHook | None = None,
        timeout: int = 30,
        user_agent: str = "autocoder",
    ) -> None:
        """`base_url` defaults to the credentials' (https://api.github.com unless set); GHES is
        `https://HOST/api/v3`. `request_hook` is called once per HTTP exchange (metrics)."""
        if seconds_between_writes < 0:
            raise ValueError("seconds_between_writes must be >= 0")
        self._credentials = credentials
        self._retry = retry or RetryPolicy()
        self.base_url = (base_url or credentials.base_url).rstrip("/")
        self._gh = Github(
            auth=credentials.pygithub_auth(),
            base_url=self.base_url,
            timeout=timeout,
            user_agent=user_agent,
            per_page=100,
            retry=self._retry.build(),
            seconds_between_requests=seconds_between_requests,
            seconds_between_writes=seconds_between_writes or None,
            lazy=True,
        )
        if request_hook is not None:
            install_request_hook(self._gh.requester, request_hook)

    def __repr__(self) -> str:
        return f"GitHubClient(base_url={self.base_url!r}, credentials={self._credentials!r})"

    def close(self) -> None:
        self._gh.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------

    def _call(self, operation: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except GITHUB_FAILURES as exc:
            raise translate(exc, operation, self._credentials.secrets()) from exc

    def _repo(self, repo: str) -> Repository:
        split_repo(repo)
        return self._gh.get_repo(repo)  # lazy: sends nothing

    def _request(
        self, verb: str, url: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A request PyGithub has no method for, or whose method drops the response body."""
        _, data = self._gh.requester.requestJsonAndCheck(verb, url, input=payload)
        return cast(dict[str, Any], data)

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
        last: BaseException | None = None
        for attempt in range(1, attempts + 1):
            time.sleep(self._retry.backoff(attempt))
            try:
                return post()
            except GITHUB_FAILURES as exc:
                if not _is_ambiguous(exc):
                    raise translate(exc, operation, self._credentials.secrets()) from exc
                last = exc
                _log.warning(
                    "%s: attempt %d/%d failed (%s); checking whether it took effect",
                    operation,
                    attempt,
                    attempts,
                    exc.status if isinstance(exc, GithubException) else type(exc).__name__,
                )
            if lookup is not None:
                found = self._call(f"{operation} (checking for an earlier attempt)", lookup)
                if found is not None:
                    _log.info("%s: an earlier attempt had succeeded; using its result", operation)
                    return found
        assert last is not None
        error = translate(last, f"{operation} ({attempts} attempts)", self._credentials.secrets())
        raise error from last

    # -- what these credentials may do --------------------------------------------------------

    def can_create_check_runs(self) -> bool:
        """Whether these credentials may create check runs: GitHub allows only Apps, so App
        credentials and installation tokens (the Actions GITHUB_TOKEN is one) may, a personal
        token may not. A token is asked once, cheaply: only an installation token may list
        GET /installation/repositories."""
        if isinstance(self._credentials, AppCredentials):
            return True

        def run() -> bool:
            try:
                self._request("GET", f"{self.base_url}/installation/repositories?per_page=1")
            except GithubException as exc:
                if exc.status in (401, 403, 404):
                    return False
                raise
            return True

        return self._call("asking whether this token belongs to a GitHub App", run)

    # -- repositories and permissions ---------------------------------------------------------

    def get_repository(self, repo: str) -> RepoInfo:
        def run() -> RepoInfo:
            return repo_from_json(_payload(self._repo(repo).complete()))

        return self._call(f"reading repository {repo}", run)

    def get_permission(self, repo: str, username: str) -> str:
        """The user's permission on `repo`: "admin", "write", "read" or "none" (GitHub's
        `permission` field; GitHub may also say "maintain" or "triage")."""

        def run() -> str:
            try:
                return self._repo(repo).get_collaborator_permission(username)
            except GithubException as exc:
                if exc.status == 404:  # no such user, or not visible: no access
                    return "none"
                raise

        return self._call(f"reading {username}'s permission on {repo}", run)

    def can_write(self, repo: str, username: str) -> bool:
        """Whether `username` may push to `repo` (admin, maintain or write)."""
        return self.get_permission(repo, username) in WRITE_PERMISSIONS

    # -- issues and comments --------------------------------------------------------------------

    def get_issue(self, repo: str, number: int) -> IssueInfo:
        def run() -> IssueInfo:
            return issue_from_json(_payload(self._repo(repo).get_issue(number).complete()))

        return self._call(f"reading issue #{number} of {repo}", run)

    def list_issue_comments(self, repo: str, number: int) -> list[CommentInfo]:
        def run() -> list[CommentInfo]:
            comments = self._repo(repo).get_issue(number).get_comments()
            return [comment_from_json(_payload(c)) for c in comments]

        return self._call(f"listing comments of #{number} in {repo}", run)

    def find_issue_comment(self, repo: str, number: int, marker: str) -> CommentInfo | None:
        """The first comment on #number whose body contains `marker` (a hidden `<!-- ... -->`)."""
        if not marker:
            raise ValueError("marker must not be empty")
        for comment in self.list_issue_comments(repo, number):
            if marker in comment.body:
                return comment
        return None

    def create_issue_comment(self, repo: str, number: int, body: str) -> CommentInfo:
        issue = self._repo(repo).get_issue(number)

        def post() -> CommentInfo:
            return comment_from_json(_payload(issue.create_comment(body)))

        def lookup() -> CommentInfo | None:
            matches = [c for c in self.list_issue_comments(repo, number) if c.body == body]
            return matches[-1] if matches else None

        return self._create_once(f"commenting on #{number} in {repo}", post, lookup)

    def edit_issue_comment(self, repo: str, comment_id: int, body: str) -> CommentInfo:
        def run() -> CommentInfo:
            url = f"{self._repo(repo).url}/issues/comments/{int(comment_id)}"
            return comment_from_json(self._request("PATCH", url, {"body": body}))

        return self._call(f"editing comment {comment_id} in {repo}", run)

    def add_issue_reaction(self, repo: str, number: int, content: str = "eyes") -> None:
        """React to issue (or pull request) #number; reacting twice is harmless."""
        if content not in REACTIONS:
            raise ValueError(f"reaction must be one of {sorted(REACTIONS)}, got {content!r}")

        def run() -> None:
            self._repo(repo).get_issue(number).create_reaction(content)

        self._call(f"reacting to #{number} in {repo}", run)

    # -- pull requests ------------------------------------------------------------------------

    def find_open_pull(self, repo: str, head_branch: str) -> PullInfo | None:
        """The open pull request whose head is `head_branch` of `repo` itself, if any."""
        owner, _ = split_repo(repo)
        branch = _head_branch(head_branch)

        def run() -> PullInfo | None:
            pulls = self._repo(repo).get_pulls(state="open", head=f"{owner}:{branch}")
            for pull in pulls:
                data = _payload(pull)
                head = data.get("head") or {}
                head_repo = (head.get("repo") or {}).get("full_name")
                if head.get("ref") == branch and head_repo in (None, repo):
                    return pull_from_json(data)
            return None

        return self._call(f"looking for an open pull request from {branch} in {repo}", run)

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
        repository = self._repo(repo)

        def lookup() -> PullInfo | None:
            return self.find_open_pull(repo, head)

        def post(as_draft: bool) -> PullInfo:
            created = repository.create_pull(
                base=base, head=head, title=title, body=body, draft=as_draft
            )
            return pull_from_json(_payload(created))

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
        def run() -> PullInfo:
            return pull_from_json(_payload(self._repo(repo).get_pull(number).complete()))

        return self._call(f"reading pull request #{number} of {repo}", run)

    def update_pull(
        self, repo: str, number: int, *, title: str | None = None, body: str | None = None
    ) -> PullInfo:
        changes = {k: v for k, v in (("title", title), ("body", body)) if v is not None}
        if not changes:
            return self.get_pull(repo, number)

        def run() -> PullInfo:
            url = f"{self._repo(repo).url}/pulls/{int(number)}"
            return pull_from_json(self._request("PATCH", url, changes))

        return self._call(f"updating pull request #{number} of {repo}", run)

    def request_reviewers(self, repo: str, number: int, users: Iterable[str]) -> list[str]:
        """Ask `users` to review #number; returns who was asked. The author is skipped (GitHub
        refuses it); a user GitHub refuses (422, e.g. not a collaborator) is skipped with a
        warning."""
        author = self.get_pull(repo, number).author.lower()
        wanted: list[str] = []
        for user in users:
            if user and user.lower() != author and user.lower() not in map(str.lower, wanted):
                wanted.append(user)
        if not wanted:
            return []
        pull = self._repo(repo).get_pull(number)

        def ask(logins: list[str]) -> bool:
            try:
                pull.create_review_request(reviewers=logins)
                return True
            except GithubException as exc:
                if exc.status != 422:
                    raise
                _log.warning(
                    "GitHub refused review requests for %s on %s#%d: %s",
                    ", ".join(logins),
                    repo,
                    number,
                    github_message(exc.data),
                )
                return False

        def run() -> list[str]:
            if ask(wanted):
                return wanted
            if len(wanted) == 1:
                return []
            return [user for user in wanted if ask([user])]

        return self._call(f"requesting reviews on #{number} in {repo}", run)

    def list_reviews(self, repo: str, number: int) -> list[ReviewInfo]:
        def run() -> list[ReviewInfo]:
            reviews = self._repo(repo).get_pull(number).get_reviews()
            return [review_from_json(_payload(r)) for r in reviews]

        return self._call(f"listing reviews of #{number} in {repo}", run)

    def list_review_comments(
        self, repo: str, number: int, review_id: int | None = None
    ) -> list[ReviewCommentInfo]:
        """Review comments on #number: all of them, or those of one review."""

        def run() -> list[ReviewCommentInfo]:
            pull = self._repo(repo).get_pull(number)
            if review_id is None:
                comments = pull.get_review_comments()
            else:
                comments = pull.get_single_review_comments(int(review_id))
            return [review_comment_from_json(_payload(c)) for c in comments]

        return self._call(f"listing review comments of #{number} in {repo}", run)

    def reply_to_review_comment(
        self, repo: str, number: int, comment_id: int, body: str
    ) -> ReviewCommentInfo:
        pull = self._repo(repo).get_pull(number)

        def post() -> ReviewCommentInfo:
            # POST .../pulls/{n}/comments with `in_reply_to` (GitHub: "all parameters other than
            # body are ignored"); equivalent to .../comments/{id}/replies, and the form the
            # emulator serves too.
            data = {"body": body, "in_reply_to": int(comment_id)}
            return review_comment_from_json(self._request("POST", f"{pull.url}/comments", data))

        def lookup() -> ReviewCommentInfo | None:
            matches = [
                c
                for c in self.list_review_comments(repo, number)
                if c.in_reply_to_id == comment_id and c.body == body
            ]
            return matches[-1] if matches else None

        return self._create_once(f"replying to review comment {comment_id} in {repo}", post, lookup)

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
        """Create a check run on `head_sha`. Summary and text are cut to GitHub's limit.

        `external_id` (default: a fresh random id) makes the create safe to retry: after an
        ambiguous failure, a run with this name and external id on `head_sha` is looked up."""
        _check_status(status, conclusion)
        ext_id = external_id or uuid.uuid4().hex
        output = build_output(title, summary, text)
        buttons = action_payload(actions) if actions else None
        repository = self._repo(repo)

        def post() -> CheckRunInfo:
            created = repository.create_check_run(
                name=name,
                head_sha=head_sha,
                status=status,
                output=output,
                external_id=ext_id,
                actions=buttons if buttons else NotSet,
                conclusion=conclusion if conclusion is not None else NotSet,
                details_url=details_url if details_url is not None else NotSet,
            )
            return check_run_from_json(_payload(created))

        def lookup() -> CheckRunInfo | None:
            for data in self._check_run_payloads(repo, head_sha, name):
                if data.get("external_id") == ext_id:
                    return check_run_from_json(data)
            return None

        return self._create_once(f"creating check run {name!r} in {repo}", post, lookup)

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

        def run() -> CheckRunInfo:
            url = f"{self._repo(repo).url}/check-runs/{int(check_run_id)}"
            return check_run_from_json(self._request("PATCH", url, payload))

        return self._call(f"updating check run {check_run_id} in {repo}", run)

    def _check_run_payloads(self, repo: str, ref: str, name: str | None) -> list[dict[str, Any]]:
        commit = self._repo(repo).get_commit(ref)  # lazy: sends nothing
        runs = commit.get_check_runs(check_name=name) if name else commit.get_check_runs()
        return [_payload(run) for run in runs]

    def list_check_runs(self, repo: str, ref: str, name: str | None = None) -> list[CheckRunInfo]:
        def run() -> list[CheckRunInfo]:
            return [check_run_from_json(d) for d in self._check_run_payloads(repo, ref, name)]

        return self._call(f"listing check runs on {ref} in {repo}", run)

    # -- rate limit -----------------------------------------------------------------------------

    def rate_limit(self) -> RateLimitInfo:
        """The core REST rate limit (GET /rate_limit, which does not count against it)."""
        return self._call(
            "reading the rate limit",
            lambda: rate_limit_from_json(_payload(self._gh.get_rate_limit())),
        )


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
