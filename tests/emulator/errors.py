"""GitHub-shaped error responses, raised as exceptions from anywhere in a request."""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.github.com/rest"


class GitHubError(Exception):
    """An error answered as GitHub does: `{"message": ..., "documentation_url": ...}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        documentation_url: str = DOCS,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.documentation_url = documentation_url
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = self.documentation_url
        body["status"] = str(self.status)
        return body


def not_found(message: str = "Not Found") -> GitHubError:
    return GitHubError(404, message)


def bad_credentials() -> GitHubError:
    return GitHubError(401, "Bad credentials")


def requires_authentication() -> GitHubError:
    return GitHubError(401, "Requires authentication")


def forbidden(message: str = "Resource not accessible by integration") -> GitHubError:
    return GitHubError(403, message)


def validation_failed(*errors: dict[str, Any], message: str = "Validation Failed") -> GitHubError:
    return GitHubError(422, message, errors=list(errors))


def missing_field(resource: str, field: str) -> GitHubError:
    return validation_failed({"resource": resource, "code": "missing_field", "field": field})


def invalid_field(resource: str, field: str) -> GitHubError:
    return validation_failed({"resource": resource, "code": "invalid", "field": field})


def custom_error(resource: str, message: str, field: str | None = None) -> GitHubError:
    error: dict[str, Any] = {"resource": resource, "code": "custom", "message": message}
    if field is not None:
        error["field"] = field
    return validation_failed(error)


def problems_parsing_json() -> GitHubError:
    return GitHubError(400, "Problems parsing JSON")


def unprocessable(message: str) -> GitHubError:
    """422 "Unprocessable Entity" with a plain-string `errors` list, as reviews answer."""
    return GitHubError(422, "Unprocessable Entity", errors=[message])
