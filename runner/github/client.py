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

from runner.github.client_checks import CHECK_CONCLUSIONS, CHECK_STATUSES, CheckRunCalls
from runner.github.client_issues import REACTIONS, IssueCalls
from runner.github.client_pulls import PullCalls
from runner.github.client_repos import WRITE_PERMISSIONS, Permission, RepositoryCalls

__all__ = [
    "CHECK_CONCLUSIONS",
    "CHECK_STATUSES",
    "REACTIONS",
    "WRITE_PERMISSIONS",
    "GitHubClient",
    "Permission",
]


class GitHubClient(RepositoryCalls, IssueCalls, PullCalls, CheckRunCalls):
    """GitHub REST for autocoder. Thread-compatible, not thread-safe: give each worker thread
    its own client (they may share credentials)."""
