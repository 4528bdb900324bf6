"""Alembic's environment: runs against the connection `app.db.engine.migrate` hands over (or,
from the `alembic` command line, the URL in the config)."""

from __future__ import annotations

import contextlib
import importlib

from alembic import context
from sqlalchemy import Connection, create_engine

from app.db.base import Base

importlib.import_module("app.db.models")
with contextlib.suppress(ModuleNotFoundError):  # the job queue's table, for autogenerate
    importlib.import_module("app.queue.models")

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a connection or set sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as connection:
        _run(connection)
        connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
