"""Fixtures of the App's tests: the database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.databases import BACKENDS, postgres_server_url, scratch_database


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file in the test's directory, or a database of the
    test's own on the PostgreSQL test server. A test that takes it runs once on each."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'autocoder.db'}"
        return
    with scratch_database(postgres_server_url()) as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL test server (for PostgreSQL-only tests)."""
    with scratch_database(postgres_server_url()) as url:
        yield url
