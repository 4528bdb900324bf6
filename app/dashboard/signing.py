"""Signed, expiring values for cookies (the sign-in session, the OAuth `state`), with HMAC-SHA256
and a server secret: `payload.mac`, both base64url, the payload JSON with an `exp` (Unix time)
and the MAC over a purpose and the payload, so a value signed for one cookie is worthless in
another. Pure: the time is passed in."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, payload: str) -> str:
    return _b64(hmac.new(key, f"{purpose}\n{payload}".encode(), hashlib.sha256).digest())


def sign(key: bytes, purpose: str, data: dict[str, Any], *, now: float, ttl_s: float) -> str:
    payload = _b64(json.dumps({**data, "exp": int(now + ttl_s)}, sort_keys=True).encode())
    return f"{payload}.{_mac(key, purpose, payload)}"


def unsign(key: bytes, purpose: str, value: str, *, now: float) -> dict[str, Any] | None:
    """The data signed into `value` for `purpose`, or None: forged, for another purpose, expired
    or malformed."""
    payload, dot, mac = value.partition(".")
    if not dot or not hmac.compare_digest(mac, _mac(key, purpose, payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] <= now:
        return None
    return data
