"""`GitHubClient`'s repository calls: the repository, a user's permission on it, what these
credentials may do (check runs), and the rate limit."""

from __future__ import annotations

from typing import Literal

from runner.github.auth import AppCredentials
from runner.github.client_base import ClientBase, _repo_path
from runner.github.convert import rate_limit_from_json, repo_from_json
from runner.github.errors import GitHubError
from runner.github.types import RateLimitInfo, RepoInfo

Permission = Literal["admin", "maintain", "write", "triage", "read", "none"]
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})


class RepositoryCalls(ClientBase):
    """Repository, permission, credential and rate-limit calls."""

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

    # -- rate limit -----------------------------------------------------------------------------

    def rate_limit(self) -> RateLimitInfo:
        """The core REST rate limit (GET /rate_limit, which does not count against it)."""
        return rate_limit_from_json(self._send("reading the rate limit", "GET", "/rate_limit"))
