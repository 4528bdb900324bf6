"""`autocoder sync` in a test: the environment of a world's App, run in a directory of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from autocoder.cli import _register
from tests.world import World


def sync_env(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """`autocoder sync` as this world's App, run in `tmp_path` (no `.env`) with a database
    there; returns the database URL."""
    db_url = f"sqlite:///{tmp_path / 'sync.db'}"
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "AUTOCODER_GITHUB_APP_ID": str(world.app.id),
        "AUTOCODER_GITHUB_PRIVATE_KEY": world.app.private_key,
        "AUTOCODER_GITHUB_API_URL": world.emulator.api_url,
        "AUTOCODER_DATABASE_URL": db_url,
    }.items():
        monkeypatch.setenv(name, value)
    _register()
    return db_url
