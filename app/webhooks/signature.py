"""`X-Hub-Signature-256`: HMAC-SHA256 of the raw body with the webhook secret, compared in
constant time. Pure functions over bytes."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


class InvalidSignature(Exception):
    """The delivery is not signed with our webhook secret (the message says how it is not)."""


def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def verify_signature(body: bytes, signature: str | None, secret: str) -> None:
    """Raise `InvalidSignature` unless `signature` is `sign(body, secret)`."""
    if not secret:
        raise InvalidSignature("no webhook secret is configured")
    if not signature:
        raise InvalidSignature("the X-Hub-Signature-256 header is missing")
    if not signature.startswith(PREFIX):
        raise InvalidSignature("X-Hub-Signature-256 must start with 'sha256='")
    # one-shot HMAC in C (no HMAC object), as `sign` computes it
    expected = hmac.digest(secret.encode("utf-8"), body, "sha256").hex().encode("ascii")
    if not hmac.compare_digest(PREFIX.encode("ascii") + expected, signature.strip().encode()):
        raise InvalidSignature("the signature does not match the body")
