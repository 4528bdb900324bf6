"""GitHub for autocoder: the only package that imports PyGithub.

Everything else uses `GitHubClient` and the dataclasses in `runner.github.types`.
"""

from runner.github.auth import AppCredentials, GitHubCredentials, TokenCredentials
from runner.github.client import GitHubClient
from runner.github.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFoundError,
    GitHubRateLimitError,
    GitHubValidationError,
)
from runner.github.retry import RetryPolicy
from runner.github.transport import RequestHook
from runner.github.types import (
    CheckRunAction,
    CheckRunInfo,
    CommentInfo,
    IssueInfo,
    PullInfo,
    RateLimitInfo,
    RepoInfo,
    RequestRecord,
    ReviewCommentInfo,
    ReviewInfo,
)

__all__ = [
    "AppCredentials",
    "CheckRunAction",
    "CheckRunInfo",
    "CommentInfo",
    "GitHubAuthError",
    "GitHubClient",
    "GitHubCredentials",
    "GitHubError",
    "GitHubNotFoundError",
    "GitHubRateLimitError",
    "GitHubValidationError",
    "IssueInfo",
    "PullInfo",
    "RateLimitInfo",
    "RepoInfo",
    "RequestHook",
    "RequestRecord",
    "RetryPolicy",
    "ReviewCommentInfo",
    "ReviewInfo",
    "TokenCredentials",
]
