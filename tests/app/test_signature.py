"""X-Hub-Signature-256: GitHub's own test vector and the ways a signature is wrong."""

from __future__ import annotations

import pytest

from app.webhooks.signature import InvalidSignature, sign, verify_signature

GITHUB_VECTOR = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_githubs_vector() -> None:
    assert sign(b"Hello, World!", "It's a Secret to Everybody") == "sha256=" + GITHUB_VECTOR
    verify_signature(b"Hello, World!", "sha256=" + GITHUB_VECTOR, "It's a Secret to Everybody")


@pytest.mark.parametrize(
    ("signature", "why"),
    [
        (None, "missing"),
        ("", "missing"),
        (GITHUB_VECTOR, "sha256="),
        ("sha1=" + GITHUB_VECTOR, "sha256="),
        ("sha256=" + GITHUB_VECTOR[:-1] + "0", "does not match"),
        ("sha256=" + GITHUB_VECTOR.upper(), "does not match"),
        ("sha256=", "does not match"),
    ],
)
def test_wrong_signatures(signature: str | None, why: str) -> None:
    with pytest.raises(InvalidSignature, match=why):
        verify_signature(b"Hello, World!", signature, "It's a Secret to Everybody")


def test_other_body_or_secret() -> None:
    good = sign(b"Hello, World!", "It's a Secret to Everybody")
    with pytest.raises(InvalidSignature):
        verify_signature(b"Hello, World?", good, "It's a Secret to Everybody")
    with pytest.raises(InvalidSignature):
        verify_signature(b"Hello, World!", good, "another secret")
    with pytest.raises(InvalidSignature, match="no webhook secret"):
        verify_signature(b"Hello, World!", good, "")
