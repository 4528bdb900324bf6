"""GitHub for autocoder: the only package that talks to GitHub (PyGithub signs the App JWT).

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
    "GitHubHTTP",
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
