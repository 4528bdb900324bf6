"""The emulator as one object: its world, clock, git storage, webhooks, limits, faults and logs.

`Emu` also holds the setup operations (users, apps, repositories, installations) that the control
API exposes, and `emit`, through which every event reaches the installed apps' webhooks.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import gitrepo
from .auth import Caller, generate_key_pair, new_token
from .clock import Clock
from .errors import GitHubError, not_found
from .faults import Faults
from .payloads import Shapes
from .ratelimit import RateLimits
from .reqlog import RequestLog
from .state import (
    DEFAULT_APP_PERMISSIONS,
    DEFAULT_LABELS,
    ROLES,
    App,
    Installation,
    Label,
    Repo,
    Role,
    Token,
    User,
    World,
    node_id,
)
from .webhooks import Deliverer, new_webhook_secret

_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass
class Emu:
    base_url: str  # API root, also the root of html_url and clone_url
    state_dir: Path
    clock: Clock = field(default_factory=Clock)
    world: World = field(default_factory=World)
    deliverer: Deliverer = field(default_factory=Deliverer)
    faults: Faults = field(default_factory=Faults)
    requests: RequestLog = field(default_factory=RequestLog)
    rate_limits: RateLimits = field(init=False)
    shapes: Shapes = field(init=False)

    def __post_init__(self) -> None:
        self.rate_limits = RateLimits(self.clock)
        self.shapes = Shapes(self.world, self.base_url, self.base_url)

    @property
    def repos_root(self) -> Path:
        return self.state_dir / "repos"

    def reset(self) -> None:
        """Forget everything: users, apps, repositories (and their git data), logs, faults."""
        self.world = World()
        self.shapes = Shapes(self.world, self.base_url, self.base_url)
        self.deliverer.reset()
        self.faults.clear()
        self.requests.clear()
        self.rate_limits.reset()
        if self.repos_root.exists():
            import shutil

            shutil.rmtree(self.repos_root)

    # -- lookups --------------------------------------------------------------------------------

    def repo(self, owner: str, name: str) -> Repo:
        repo = self.world.repo(owner, name)
        if repo is None:
            raise not_found()
        return repo

    def user(self, login: str) -> User:
        user = self.world.user(login)
        if user is None:
            raise not_found()
        return user

    # -- setup ----------------------------------------------------------------------------------

    def ensure_user(
        self,
        login: str,
        *,
        type: str = "User",
        name: str | None = None,
        email: str | None = None,
    ) -> User:
        existing = self.world.user(login)
        if existing is not None:
            return existing
        if not _LOGIN.match(login):
            raise GitHubError(422, f"invalid login {login!r}")
        number = self.world.new_id()
        user = User(
            login=login,
            id=number,
            node_id=node_id("U" if type != "Organization" else "O", number),
            type=type,
            created_at=self.clock.now(),
            name=name,
            email=email if email is not None else f"{number}+{login}@users.noreply.github.com",
        )
        self.world.users[login.lower()] = user
        return user

    def add_user(
        self,
        login: str,
        *,
        repos: dict[str, Role] | None = None,
        token: str | bool = False,
        name: str | None = None,
        email: str | None = None,
    ) -> tuple[User, str | None]:
        """Create (or reuse) a user, give them roles on repositories, optionally a token."""
        user = self.ensure_user(login, name=name, email=email)
        for full_name, role in (repos or {}).items():
            owner, _, repo_name = full_name.partition("/")
            self.set_role(self.repo(owner, repo_name), login, role)
        value: str | None = None
        if token:
            value = token if isinstance(token, str) else new_token("ghp_")
            self.world.tokens[value] = Token(
                value=value, kind="user", created_at=self.clock.now(), user_login=user.login
            )
        return user, value

    def set_role(self, repo: Repo, login: str, role: Role) -> None:
        if role not in ROLES:
            raise GitHubError(422, f"unknown permission {role!r}; one of {', '.join(ROLES)}")
        self.ensure_user(login)
        repo.collaborators[login.lower()] = role

    def register_app(
        self,
        name: str,
        *,
        webhook_url: str | None = None,
        owner: str | None = None,
        permissions: dict[str, str] | None = None,
        events: list[str] | None = None,
        webhook_secret: str | None = None,
    ) -> App:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "app"
        if any(a.slug == slug for a in self.world.apps.values()):
            raise GitHubError(422, f"an app with slug {slug!r} already exists")
        owner_user = self.ensure_user(owner or f"{slug}-owner"[:39])
        app_id = self.world.new_id()
        bot_login = f"{slug}[bot]"
        bot_id = self.world.new_id()
        bot = User(
            login=bot_login,
            id=bot_id,
            node_id=node_id("BOT_", bot_id),
            type="Bot",
            created_at=self.clock.now(),
            email=f"{bot_id}+{bot_login}@users.noreply.github.com",
        )
        self.world.users[bot_login.lower()] = bot
        private_pem, public_pem = generate_key_pair()
        app = App(
            id=app_id,
            slug=slug,
            name=name,
            node_id=node_id("A_", app_id),
            client_id="Iv1." + secrets.token_hex(8),
            owner=owner_user,
            bot=bot,
            private_key_pem=private_pem,
            public_key_pem=public_pem,
            webhook_secret=webhook_secret or new_webhook_secret(),
            hook_id=self.world.new_id(),
            created_at=self.clock.now(),
            webhook_url=webhook_url,
            permissions=dict(permissions or DEFAULT_APP_PERMISSIONS),
            events=list(events or []),
        )
        self.world.apps[app.id] = app
        return app

    def create_repo(
        self,
        owner: str,
        name: str,
        *,
        files: dict[str, str] | None = None,
        default_branch: str = "main",
        private: bool = False,
        description: str | None = None,
        owner_type: str = "User",
    ) -> Repo:
        if not _REPO_NAME.match(name) or name.endswith(".git"):
            raise GitHubError(422, f"invalid repository name {name!r}")
        if self.world.repo(owner, name) is not None:
            raise GitHubError(422, f"repository {owner}/{name} already exists")
        owner_user = self.ensure_user(owner, type=owner_type)
        now = self.clock.now()
        path = self.repos_root / owner_user.login / f"{name}.git"
        gitrepo.init_bare(path, default_branch)
        content = files if files is not None else {"README.md": f"# {name}\n"}
        if content:
            gitrepo.commit_files(path, default_branch, dict(content), "Initial commit", now)
        number = self.world.new_id()
        repo = Repo(
            id=number,
            node_id=node_id("R_", number),
            owner=owner_user,
            name=name,
            private=private,
            default_branch=default_branch,
            path=path,
            created_at=now,
            updated_at=now,
            pushed_at=now,
            description=description,
        )
        for label_name, color, text in DEFAULT_LABELS:
            self.new_label(repo, label_name, color, text, default=True)
        self.world.repos[repo.full_name.lower()] = repo
        return repo

    def new_label(
        self,
        repo: Repo,
        name: str,
        color: str = "ededed",
        description: str | None = None,
        *,
        default: bool = False,
    ) -> Label:
        number = self.world.new_id()
        label = Label(number, node_id("LA_", number), name, color, description, default)
        repo.labels[name.lower()] = label
        return label

    def install(self, app_id: int, repos: list[str], account: str | None = None) -> Installation:
        app = self.world.apps.get(app_id)
        if app is None:
            raise not_found("app not found")
        targets = []
        for full_name in repos:
            owner, _, name = full_name.partition("/")
            targets.append(self.repo(owner, name))
        account_user = (
            self.ensure_user(account) if account else targets[0].owner if targets else app.owner
        )
        for inst in self.world.installations.values():
            if inst.app_id == app_id and inst.account.id == account_user.id:
                inst.repo_ids.extend(r.id for r in targets if r.id not in inst.repo_ids)
                return inst
        inst = Installation(
            id=self.world.new_id(),
            app_id=app_id,
            account=account_user,
            repo_ids=[r.id for r in targets],
            created_at=self.clock.now(),
            permissions=dict(app.permissions),
        )
        self.world.installations[inst.id] = inst
        return inst

    # -- events ---------------------------------------------------------------------------------

    def listeners(self, repo: Repo, event: str) -> list[tuple[App, Installation]]:
        """The apps (with their installation) that get `event` from `repo` by webhook."""
        found = []
        for inst in self.world.installations_for(repo):
            app = self.world.apps[inst.app_id]
            if app.webhook_url and (not app.events or event in app.events):
                found.append((app, inst))
        return found

    def emit(
        self,
        repo: Repo,
        event: str,
        sender: User,
        body: dict[str, Any],
        *,
        only_app: int | None = None,
    ) -> None:
        """Deliver `event` to every app installed on `repo` that has a webhook URL.

        `body` holds `action` (if any) and the event's own objects; `repository`, `sender` and
        `installation` are added per installation, as GitHub does.
        """
        for app, inst in self.listeners(repo, event):
            if only_app is not None and app.id != only_app:
                continue
            assert app.webhook_url is not None
            payload = dict(body)
            payload.setdefault("repository", self.shapes.repo(repo))
            payload["sender"] = self.shapes.user(sender)
            payload["installation"] = {"id": inst.id, "node_id": node_id("IN_", inst.id)}
            self.deliverer.enqueue(
                event=event,
                payload=payload,
                url=app.webhook_url,
                secret=app.webhook_secret,
                hook_id=app.hook_id,
                app_id=app.id,
                installation_id=inst.id,
            )

    def app_of(self, caller: Caller) -> int | None:
        """The app id to record as `performed_via_github_app` for this caller."""
        return caller.app.id if caller.kind == "installation" and caller.app else None
