"""Opening the App's database: engine, session factory, and migrations to the newest schema.

SQLite (the embedded default) is opened in WAL mode with a busy timeout, and every transaction
starts with `BEGIN IMMEDIATE`: writers queue on the database lock instead of failing when a read
transaction tries to become a write transaction — taking turns through a file lock beside the
database (app/db/sqlite_turns.py), then SQLite's busy timeout.
`synchronous=NORMAL` in WAL: a commit is in the WAL file before the webhook is answered, so it
survives the server being killed (kill -9); only a power loss may drop the last commits, never
corrupt the file. Commits do not fsync; checkpoints do: inside the commit that crosses
`WAL_AUTOCHECKPOINT_PAGES`, or — for the server, `background_checkpoints` — in a thread of their
own (app/db/checkpoint.py). PostgreSQL is used as it comes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.db.checkpoint import WalCheckpointer
from app.db.sqlite_turns import take_turns

_log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_AUTOCHECKPOINT_PAGES = 10_000
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _is_sqlite(url: str) -> bool:
    return make_url(url).drivername.startswith("sqlite")


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def make_engine(url: str, *, background_checkpoints: bool = False, **kwargs: Any) -> Engine:
    """An engine for `url`; for a SQLite file, its directory is created first.
    `background_checkpoints`: its connections never checkpoint the WAL themselves (a
    `WalCheckpointer` does)."""
    if not _is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, **kwargs)
    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    if path is not None:  # before the `begin` below: a turn, then BEGIN IMMEDIATE
        take_turns(engine, path.with_name(path.name + ".lock"))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below start transactions, not the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if path is not None:
                cursor.execute("PRAGMA journal_mode=WAL")
                # Checkpoint every ~40 MB of WAL rather than 4 MB: a burst of deliveries
                # rewrites the same index pages, copied once per checkpoint (fewer, cheaper
                # fsyncs in the webhook writer); the WAL file is cut back to 64 MB after each.
                pages = 0 if background_checkpoints else WAL_AUTOCHECKPOINT_PAGES
                cursor.execute(f"PRAGMA wal_autocheckpoint={pages}")
                cursor.execute(f"PRAGMA journal_size_limit={64 * 1024 * 1024}")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Any:
    """Alembic's configuration, built in code so migrations run from the installed package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to `revision` (default: the newest)."""
    from alembic import command

    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def current_revisions(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


@dataclass
class Database:
    """An open database: the engine and a factory of ORM sessions; for a server's SQLite
    file, its checkpointer (started by the server, stopped with `dispose`)."""

    engine: Engine
    sessions: sessionmaker[Session]
    checkpoints: WalCheckpointer | None = None

    def dispose(self) -> None:
        if self.checkpoints is not None:
            self.checkpoints.stop()
        self.engine.dispose()


def open_database(
    url: str, *, run_migrations: bool = True, background_checkpoints: bool = False
) -> Database:
    """Open `url`, creating the SQLite file's directory, and migrate it to the newest schema.
    `background_checkpoints` (a server's database): a SQLite file is checkpointed by a
    `WalCheckpointer` (`Database.checkpoints`, to start), not inside commits."""
    path = _sqlite_file(url) if _is_sqlite(url) else None
    background = background_checkpoints and path is not None
    engine = make_engine(url, background_checkpoints=background)
    if run_migrations:
        migrate(engine)
    _log.debug("database ready: %s", make_url(url).render_as_string(hide_password=True))
    checkpoints = WalCheckpointer(path) if background and path is not None else None
    return Database(engine, make_session_factory(engine), checkpoints)
