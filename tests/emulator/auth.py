"""Who is calling: app JWTs, installation tokens and personal tokens, checked as GitHub does."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .clock import Clock
from .errors import GitHubError, bad_credentials, forbidden, not_found
from .state import App, Installation, Repo, Role, Token, User, World, role_at_least

TOKEN_LIFETIME = timedelta(hours=1)
JWT_MAX_LIFETIME_SECONDS = 600
CLOCK_SKEW_SECONDS = 60

TokenKind = Literal["jwt", "installation", "user"]


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request (`kind` None: anonymous)."""

    kind: TokenKind | None
    actor: User | None = None  # the user, or the app's bot user for installation tokens
    app: App | None = None
    installation: Installation | None = None
    token: Token | None = None

    @property
    def rate_key(self) -> str:
        if self.kind == "installation" and self.installation is not None:
            return f"installation:{self.installation.id}"
        if self.kind == "user" and self.actor is not None:
            return f"user:{self.actor.login.lower()}"
        if self.kind == "jwt" and self.app is not None:
            return f"app:{self.app.id}"
        return "anonymous"

    @property
    def rate_limit(self) -> int:
        return 60 if self.kind is None else 5000


ANONYMOUS = Caller(kind=None)


def generate_key_pair() -> tuple[str, str]:
    """(private key PEM, public key PEM) for a new app: RSA 2048, as GitHub issues."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(27).replace("-", "A").replace("_", "b")[:36]


def _jwt_error(message: str) -> GitHubError:
    return GitHubError(401, message)


def verify_app_jwt(world: World, token: str, now: float | None = None) -> App:
    """Check an app JWT as GitHub does (RS256, `iss` = app id, `iat`/`exp` window).

    Times are checked against real time, not the emulator clock: an app signs its JWTs with its own
    clock, and moving the emulator clock forward must not make every fresh JWT look expired.
    """
    now = time.time() if now is None else now
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _jwt_error("A JSON web token could not be decoded") from exc
    if header.get("alg") != "RS256":
        raise _jwt_error("A JSON web token could not be decoded")
    iss = claims.get("iss")
    app: App | None = None
    if isinstance(iss, int | str) and str(iss).isdigit():
        app = world.apps.get(int(iss))
    if app is None:
        app = next((a for a in world.apps.values() if a.client_id == iss), None)
    if app is None:
        raise _jwt_error("Integration not found")
    try:
        jwt.decode(
            token,
            app.public_key_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise _jwt_error("A JSON web token could not be decoded") from exc
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or iat > now + CLOCK_SKEW_SECONDS:
        raise _jwt_error(
            "'Issued at' claim ('iat') must be an Integer representing the time that the "
            "assertion was issued"
        )
    if not isinstance(exp, int | float) or exp <= now:
        raise _jwt_error(
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires"
        )
    if exp > now + JWT_MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS or exp - iat > 660:
        raise _jwt_error("'Expiration time' claim ('exp') is too far in the future")
    return app


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def identify(world: World, clock: Clock, authorization: str | None) -> Caller:
    """Map an Authorization header to a caller; raise 401 as GitHub does for bad ones."""
    if not authorization:
        return ANONYMOUS
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value).decode()
        except ValueError as exc:
            raise bad_credentials() from exc
        value = decoded.partition(":")[2]
    elif scheme not in ("token", "bearer"):
        raise bad_credentials()
    if not value:
        raise bad_credentials()
    if _looks_like_jwt(value):
        if scheme != "bearer":
            raise _jwt_error("A JSON web token could not be decoded")
        app = verify_app_jwt(world, value)
        return Caller(kind="jwt", app=app)
    token = world.tokens.get(value)
    if token is None:
        raise bad_credentials()
    if token.expires_at is not None and clock.now() >= token.expires_at:
        raise bad_credentials()
    if token.kind == "installation":
        assert token.installation_id is not None
        inst = world.installations.get(token.installation_id)
        if inst is None:
            raise bad_credentials()
        app = world.apps[inst.app_id]
        return Caller(kind="installation", actor=app.bot, app=app, installation=inst, token=token)
    assert token.user_login is not None
    user = world.user(token.user_login)
    if user is None:
        raise bad_credentials()
    return Caller(kind="user", actor=user, token=token)


def mint_installation_token(
    world: World,
    clock: Clock,
    inst: Installation,
    repo_ids: list[int] | None = None,
    permissions: dict[str, str] | None = None,
) -> Token:
    now = clock.now()
    token = Token(
        value=new_token("ghs_"),
        kind="installation",
        created_at=now,
        expires_at=now + TOKEN_LIFETIME,
        installation_id=inst.id,
        repo_ids=repo_ids,
        permissions=dict(permissions or inst.permissions),
    )
    world.tokens[token.value] = token
    return token


# -- access to repositories -------------------------------------------------------------------


def repo_role(world: World, caller: Caller, repo: Repo) -> Role | None:
    """The role the caller holds on the repository, for the `permissions` of repo objects."""
    if caller.kind == "installation":
        return "write" if installed_on(caller, repo) else ("read" if not repo.private else None)
    if caller.kind == "user" and caller.actor is not None:
        return repo.role_of(caller.actor.login)
    return None


def installed_on(caller: Caller, repo: Repo) -> bool:
    """An installation token that covers this repository (its installation, maybe narrowed)."""
    if caller.kind != "installation":
        return False
    assert caller.installation is not None and caller.token is not None
    allowed = caller.token.repo_ids
    if allowed is None:
        allowed = caller.installation.repo_ids
    return repo.id in allowed and repo.id in caller.installation.repo_ids


def can_see(caller: Caller, repo: Repo) -> bool:
    """Public repositories are readable by anyone; private ones by their installations and
    collaborators only (others get 404, as on GitHub)."""
    if not repo.private:
        return True
    if caller.kind == "installation":
        return installed_on(caller, repo)
    if caller.kind == "user" and caller.actor is not None:
        return repo.role_of(caller.actor.login) is not None
    return False


def require_read(caller: Caller, repo: Repo) -> None:
    """404 (as GitHub answers) when the caller may not see the repository."""
    if caller.kind == "jwt":
        raise forbidden("A JSON web token cannot be used to access this resource")
    if not can_see(caller, repo):
        raise not_found()


def require(caller: Caller, repo: Repo, permission: str, role: Role = "write") -> None:
    """Check the caller may do something needing `permission` (app) or `role` (user)."""
    require_read(caller, repo)
    if caller.kind is None:
        raise GitHubError(401, "Requires authentication")
    if caller.kind == "installation":
        assert caller.token is not None
        if not installed_on(caller, repo) or caller.token.permissions.get(permission) != "write":
            raise forbidden()
        return
    assert caller.actor is not None
    if not role_at_least(repo.role_of(caller.actor.login), role):
        raise forbidden("Must have push access to repository")


def git_access(
    caller: Caller, repo: Repo, write: bool
) -> Literal["ok", "auth", "denied", "hidden"]:
    """What git over HTTP may do: ok, ask for credentials, refuse (403) or hide (404)."""
    if caller.kind == "jwt":
        return "auth"
    if not can_see(caller, repo):
        return "auth" if caller.kind is None else "hidden"
    if not write:
        return "ok"
    if caller.kind is None:
        return "auth"
    if caller.kind == "installation":
        assert caller.token is not None
        if not installed_on(caller, repo):
            return "denied"
        return "ok" if caller.token.permissions.get("contents") == "write" else "denied"
    assert caller.actor is not None
    return "ok" if role_at_least(repo.role_of(caller.actor.login), "write") else "denied"
