"""Fixtures of the App's tests: the database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.databases import (
    BACKENDS,
    migrated_template,
    postgres_server_url,
    scratch_database,
)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The PostgreSQL test server's migrated template (made once per test run)."""
    with migrated_template(postgres_server_url()) as name:
        yield name


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file (not yet made) in the test's directory, or a database
    of the test's own on the PostgreSQL test server, already migrated to the newest schema. A
    test that takes it runs once on each."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'autocoder.db'}"
        return
    template = request.getfixturevalue("postgres_template")
    with scratch_database(postgres_server_url(), template=template) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL test server (for PostgreSQL-only tests), migrated."""
    with scratch_database(postgres_server_url(), template=postgres_template) as url:
        yield url
