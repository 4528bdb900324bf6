"""Test conveniences for the emulator's OAuth web flow (`routes/oauth.py`): a client secret for
an App, and who is signed in to "the browser" that GitHub's authorize page sees."""

from __future__ import annotations

import httpx


def new_client_secret(base_url: str, app_id: int) -> str:
    answer = httpx.post(f"{base_url}/_emulator/apps/{app_id}/client-secrets", trust_env=False)
    answer.raise_for_status()
    secret = answer.json()["client_secret"]
    assert isinstance(secret, str)
    return secret


def sign_in_browser(base_url: str, login: str | None) -> None:
    """GitHub's authorize page will approve as `login` (None: nobody is signed in)."""
    answer = httpx.post(
        f"{base_url}/_emulator/oauth/web-user", json={"login": login}, trust_env=False
    )
    answer.raise_for_status()
