"""The databases the App's tests run on: a SQLite file, or a database of its own on the
PostgreSQL server that `.ci/postgres.sh` started (`AUTOCODER_TEST_POSTGRES_URL`).

Outside CI, a test that needs PostgreSQL is skipped when no server is named, with a reason that
says how to start one; in CI (`CI=true`) it fails instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "AUTOCODER_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


def postgres_server_url() -> str:
    """The test server's URL; skips (fails in CI) when there is none."""
    url = os.environ.get(POSTGRES_ENV, "")
    if url:
        return url
    reason = (
        f"{POSTGRES_ENV} is not set: no PostgreSQL server for this test "
        "(start one with `source .ci/postgres.sh`)"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason)
    pytest.skip(reason)


def database_url_named(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@contextmanager
def scratch_database(server_url: str, *, template: str | None = None) -> Iterator[str]:
    """A new database on the server for the block, empty or a copy of `template` (a database
    nobody is connected to); dropped afterwards (connections still open to it are ended)."""
    name = f"autocoder_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        try:
            yield database_url_named(server_url, name)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def migrated_template(server_url: str) -> Iterator[str]:
    """A database migrated to the newest schema, to copy for each test (copying is ~20x faster
    than migrating); yields its name."""
    from app.db.engine import open_database

    with scratch_database(server_url) as url:
        open_database(url).dispose()
        yield str(make_url(url).database)
