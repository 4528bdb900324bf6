"""The typed handle tests use: `running_emulator()` and the `Emulator` control client.

Everything goes through the control API over HTTP, so the same client drives an emulator started
in-process or one started with `python -m tests.emulator`.
"""

from __future__ import annotations

import base64
import functools
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from .core import Emu
from .reqlog import RequestRecord
from .server import EmulatorServer


class EmulatorError(Exception):
    """The control API refused a call; the message is its answer."""


@dataclass(frozen=True)
class AppInfo:
    id: int
    slug: str
    name: str
    client_id: str
    private_key: str  # PEM
    webhook_secret: str
    webhook_url: str | None
    hook_id: int
    bot_login: str
    bot_id: int


@dataclass(frozen=True)
class RepoInfo:
    id: int
    full_name: str
    owner: str
    name: str
    clone_url: str
    default_branch: str
    private: bool
    git_dir: str


@dataclass(frozen=True)
class UserInfo:
    login: str
    id: int
    email: str | None
    token: str | None


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    guid: str
    event: str
    action: str | None
    url: str
    app_id: int
    installation_id: int | None
    repository: str | None
    redelivery: bool
    status: str  # pending | paused | delivered | failed | dropped
    status_code: int | None
    duration: float | None
    error: str | None
    request_headers: dict[str, str]
    payload: Any
    delivered_at: float | None = None
    response_body: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeliveryRecord:
        return cls(**data)


def no_delay_transport() -> httpx.HTTPTransport:
    """An httpx transport with TCP_NODELAY: without it a small POST (headers and body written
    separately) waits ~40 ms for the server's delayed ACK."""
    return httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])


def basic_auth_header(token: str) -> str:
    """`Authorization: Basic base64(x-access-token:TOKEN)`, for `git -c http.extraHeader=...`."""
    raw = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"Authorization: Basic {raw}"


@functools.lru_cache(maxsize=32)
def _signing_key(pem: str) -> PrivateKeyTypes:
    # validating an RSA key costs ~0.1 s; these keys come from the emulator, so skip it, and
    # cache: tests sign many JWTs with few keys
    return serialization.load_pem_private_key(
        pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
    )


def app_jwt(app: AppInfo, *, iat_offset: int = -60, lifetime: int = 540) -> str:
    """An app JWT as GitHub wants it: RS256, iss = app id, iat 60 s back, exp ≤ 10 min."""
    now = int(time.time())
    claims = {"iat": now + iat_offset, "exp": now + iat_offset + lifetime, "iss": str(app.id)}
    return jwt.encode(claims, _signing_key(app.private_key), algorithm="RS256")  # type: ignore[arg-type]


@dataclass
class ActingUser:
    """A person doing things in GitHub's web UI (each call emits the webhooks GitHub would)."""

    emulator: Emulator
    login: str

    def _path(self, repo: str, tail: str) -> str:
        return f"/_emulator/as/{quote(self.login)}/repos/{repo}{tail}"

    def open_issue(
        self, repo: str, title: str, body: str = "", labels: Sequence[str] = ()
    ) -> dict[str, Any]:
        data = {"title": title, "body": body, "labels": list(labels)}
        result: dict[str, Any] = self.emulator._call("POST", self._path(repo, "/issues"), data)
        return result

    def edit_issue(self, repo: str, number: int, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.emulator._call(
            "PATCH", self._path(repo, f"/issues/{number}"), fields
        )
        return result

    def close_issue(self, repo: str, number: int, reason: str = "completed") -> dict[str, Any]:
        return self.edit_issue(repo, number, state="closed", state_reason=reason)

    def label_issue(self, repo: str, number: int, *labels: str) -> dict[str, Any]:
        result: dict[str, Any] = self.emulator._call(
            "POST", self._path(repo, f"/issues/{number}/labels"), {"labels": list(labels)}
        )
        return result

    def unlabel_issue(self, repo: str, number: int, label: str) -> dict[str, Any]:
        path = self._path(repo, f"/issues/{number}/labels/{quote(label)}")
        result: dict[str, Any] = self.emulator._call("DELETE", path)
        return result

    def comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        result: dict[str, Any] = self.emulator._call(
            "POST", self._path(repo, f"/issues/{number}/comments"), {"body": body}
        )
        return result

    def edit_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        result: dict[str, Any] = self.emulator._call(
            "PATCH", self._path(repo, f"/issues/comments/{comment_id}"), {"body": body}
        )
        return result

    def open_pull(
        self, repo: str, head: str, title: str, body: str = "", base: str | None = None
    ) -> dict[str, Any]:
        data = {"head": head, "title": title, "body": body, "base": base}
        result: dict[str, Any] = self.emulator._call("POST", self._path(repo, "/pulls"), data)
        return result

    def merge_pull(
        self, repo: str, number: int, merge_method: str = "merge", sha: str | None = None
    ) -> dict[str, Any]:
        """Merge pull request `number` (GitHub's merge button): {sha, merged, message}."""
        data: dict[str, Any] = {"merge_method": merge_method}
        if sha is not None:
            data["sha"] = sha
        result: dict[str, Any] = self.emulator._call(
            "PUT", self._path(repo, f"/pulls/{number}/merge"), data
        )
        return result

    def review(
        self,
        repo: str,
        number: int,
        event: str = "COMMENT",
        body: str = "",
        comments: Sequence[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """Submit a review; `comments` are `{"path", "line", "body"}` (optionally `side`...)."""
        data = {"event": event, "body": body, "comments": list(comments)}
        result: dict[str, Any] = self.emulator._call(
            "POST", self._path(repo, f"/pulls/{number}/reviews"), data
        )
        return result

    def rerequest_check_run(self, repo: str, run_id: int) -> None:
        self.emulator._call("POST", self._path(repo, f"/check-runs/{run_id}/rerequest"))

    def press_check_run_action(self, repo: str, run_id: int, identifier: str) -> None:
        self.emulator._call(
            "POST",
            self._path(repo, f"/check-runs/{run_id}/requested_action"),
            {"identifier": identifier},
        )

    def push_files(
        self,
        repo: str,
        branch: str,
        files: dict[str, str],
        message: str = "Update files",
        from_ref: str | None = None,
    ) -> str:
        """Commit `files` on `branch` (created from `from_ref` or the default branch); the sha."""
        data = {"branch": branch, "files": files, "message": message, "from": from_ref}
        result = self.emulator._call("POST", self._path(repo, "/commits"), data)
        return str(result["sha"])


@dataclass
class Emulator:
    """Control client for a running emulator (`server` is set when it runs in this process)."""

    base_url: str
    server: EmulatorServer | None = None
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = httpx.Client(
            base_url=self.base_url, timeout=30.0, trust_env=False, transport=no_delay_transport()
        )

    def close(self) -> None:
        self._http.close()

    @property
    def core(self) -> Emu:
        """The in-process emulator state (only when started by `running_emulator`)."""
        if self.server is None:
            raise RuntimeError("the emulator runs in another process; use the control API")
        return self.server.emu

    @property
    def api_url(self) -> str:
        return self.base_url

    def clone_url(self, full_name: str) -> str:
        return f"{self.base_url}/{full_name}.git"

    def _call(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        response = self._http.request(method, path, json=body)
        if response.status_code >= 400 and response.status_code != expect:
            raise EmulatorError(f"{method} {path} -> {response.status_code}: {response.text}")
        if not response.content:
            return None
        return response.json()

    # -- setup ----------------------------------------------------------------------------------

    def register_app(
        self,
        name: str = "autocoder",
        webhook_url: str | None = None,
        *,
        permissions: dict[str, str] | None = None,
        events: list[str] | None = None,
        owner: str | None = None,
        webhook_secret: str | None = None,
    ) -> AppInfo:
        data = self._call(
            "POST",
            "/_emulator/apps",
            {
                "name": name,
                "webhook_url": webhook_url,
                "permissions": permissions,
                "events": events,
                "owner": owner,
                "webhook_secret": webhook_secret,
            },
        )
        return AppInfo(
            id=data["id"],
            slug=data["slug"],
            name=data["name"],
            client_id=data["client_id"],
            private_key=data["private_key"],
            webhook_secret=data["webhook_secret"],
            webhook_url=data["webhook_url"],
            hook_id=data["hook_id"],
            bot_login=data["bot_login"],
            bot_id=data["bot_id"],
        )

    def set_webhook_url(self, app_id: int, url: str | None) -> None:
        self._call("PATCH", f"/_emulator/apps/{app_id}", {"webhook_url": url})

    def create_repo(
        self,
        full_name: str,
        files: dict[str, str] | None = None,
        *,
        default_branch: str = "main",
        private: bool = False,
        description: str | None = None,
        owner_type: str = "User",
    ) -> RepoInfo:
        """`owner_type="Organization"` makes the owner an organization (webhook payloads then
        carry `organization`)."""
        owner, _, name = full_name.partition("/")
        data = self._call(
            "POST",
            "/_emulator/repos",
            {
                "owner": owner,
                "name": name,
                "files": files,
                "default_branch": default_branch,
                "private": private,
                "description": description,
                "owner_type": owner_type,
            },
        )
        return RepoInfo(
            id=data["id"],
            full_name=data["full_name"],
            owner=data["owner"],
            name=data["name"],
            clone_url=data["clone_url"],
            default_branch=data["default_branch"],
            private=data["private"],
            git_dir=data["git_dir"],
        )

    def install(self, app_id: int, repos: str | Sequence[str], account: str | None = None) -> int:
        names = [repos] if isinstance(repos, str) else list(repos)
        data = self._call(
            "POST",
            "/_emulator/installations",
            {"app_id": app_id, "repositories": names, "account": account},
        )
        return int(data["id"])

    def add_user(
        self,
        login: str,
        permission: str | None = None,
        repo: str | None = None,
        *,
        repos: dict[str, str] | None = None,
        token: bool | str = False,
        name: str | None = None,
        email: str | None = None,
    ) -> UserInfo:
        """Create a user; `permission` on `repo` (read/triage/write/maintain/admin)."""
        roles = dict(repos or {})
        if repo is not None and permission is not None:
            roles[repo] = permission
        data = self._call(
            "POST",
            "/_emulator/users",
            {"login": login, "repos": roles, "token": token, "name": name, "email": email},
        )
        return UserInfo(
            login=data["login"], id=data["id"], email=data["email"], token=data["token"]
        )

    def set_permission(self, repo: str, login: str, permission: str) -> None:
        self._call(
            "POST",
            f"/_emulator/repos/{repo}/collaborators",
            {"login": login, "permission": permission},
        )

    def act_as(self, login: str) -> ActingUser:
        return ActingUser(self, login)

    def reset(self) -> None:
        self._call("POST", "/_emulator/reset")

    # -- tokens (conveniences; the app under test should mint its own) --------------------------

    def app_jwt(self, app: AppInfo) -> str:
        return app_jwt(app)

    def installation_token(self, app: AppInfo, installation_id: int) -> str:
        response = self._http.post(
            f"/app/installations/{installation_id}/access_tokens",
            headers={"Authorization": f"Bearer {app_jwt(app)}"},
        )
        if response.status_code != 201:
            raise EmulatorError(f"token refused: {response.status_code} {response.text}")
        return str(response.json()["token"])

    # -- clock, faults ----------------------------------------------------------------------------

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/_emulator/clock", {"advance_seconds": seconds})

    def inject_fault(
        self,
        kind: str,
        path: str,
        method: str = "*",
        count: int = 1,
        retry_after: int | None = None,
    ) -> int:
        """Answer the next `count` matching requests with a fault: "500", "502", "503",
        "secondary_rate_limit" (403 + retry-after), "429", "rate_limit" (403, remaining 0).
        `path` is a glob (`/repos/o/r/issues*`) or `re:<regex>`."""
        data = self._call(
            "POST",
            "/_emulator/faults",
            {
                "kind": kind,
                "path": path,
                "method": method,
                "count": count,
                "retry_after": retry_after,
            },
        )
        return int(data["id"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/_emulator/faults")

    # -- logs -------------------------------------------------------------------------------------

    def workflow_dispatches(self, repo: str) -> list[dict[str, Any]]:
        """The `workflow_dispatch` requests `repo` received (run_id, workflow, ref, sha,
        inputs, actor, created_at), oldest first."""
        result: list[dict[str, Any]] = self._call("GET", f"/_emulator/repos/{repo}/dispatches")
        return result

    def requests(self) -> list[RequestRecord]:
        return [RequestRecord.from_json(r) for r in self._call("GET", "/_emulator/requests")]

    def clear_requests(self) -> None:
        self._call("DELETE", "/_emulator/requests")

    def deliveries(self) -> list[DeliveryRecord]:
        return [DeliveryRecord.from_json(d) for d in self._call("GET", "/_emulator/deliveries")]

    def delivery(self, delivery_id: int) -> DeliveryRecord:
        return DeliveryRecord.from_json(self._call("GET", f"/_emulator/deliveries/{delivery_id}"))

    def wait_for_deliveries(self, timeout: float = 10.0) -> None:
        """Block until every delivery that is not paused has been attempted."""
        data = self._call("POST", "/_emulator/deliveries/wait", {"timeout": timeout}, expect=408)
        if not data["idle"]:
            raise TimeoutError(f"{data['pending']} webhook deliveries still pending")

    def redeliver(self, delivery_id: int) -> DeliveryRecord:
        """Send a logged delivery again: same `X-GitHub-Delivery`, same body."""
        data = self._call("POST", f"/_emulator/deliveries/{delivery_id}/redeliver")
        return DeliveryRecord.from_json(data)

    def pause_webhooks(self, url: str) -> None:
        self._call("POST", "/_emulator/webhooks/pause", {"url": url})

    def resume_webhooks(self, url: str) -> None:
        self._call("POST", "/_emulator/webhooks/resume", {"url": url})

    def drop_next_delivery(self, count: int = 1, url: str | None = None) -> None:
        self._call("POST", "/_emulator/webhooks/drop", {"count": count, "url": url})


@contextmanager
def running_emulator(state_dir: Path | None = None) -> Iterator[Emulator]:
    """Start the emulator on 127.0.0.1 (free port, background thread) and stop it afterwards."""
    server = EmulatorServer(state_dir=state_dir)
    server.start()
    emulator = Emulator(server.base_url, server=server)
    try:
        yield emulator
    finally:
        emulator.close()
        server.stop()
