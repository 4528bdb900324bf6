"""The server's SQLite checkpoints run in a thread of their own (app/db/checkpoint.py), not in
the commits of the webhook writer — on a real SQLite file: the server's connections never
checkpoint, the thread keeps the log from growing, a log past the limit is restarted, and a
stopped server leaves an empty log with every row in the database file."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from app.db.checkpoint import WalCheckpointer
from app.db.engine import Database, open_database

ROW = "x" * 2000  # about half a page: every insert adds WAL frames


def _open(tmp_path: Path) -> tuple[Database, Path]:
    path = tmp_path / "autocoder.db"
    database = open_database(f"sqlite:///{path}", background_checkpoints=True)
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
    return database, path


def _insert(database: Database, count: int) -> None:
    for _ in range(count):  # one commit each, as deliveries are written
        with database.engine.begin() as connection:
            connection.execute(text("INSERT INTO filler (body) VALUES (:b)"), {"b": ROW})


def _wal_bytes(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_the_servers_commits_never_checkpoint(tmp_path: Path) -> None:
    database, path = _open(tmp_path)
    assert database.checkpoints is not None
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
    _insert(database, 600)  # ~1,200 pages of log: past SQLite's own default of 1,000
    assert _wal_bytes(path) > 1000 * 4096, "nothing checkpointed the log inside a commit"
    database.dispose()


def test_other_users_of_the_database_checkpoint_as_sqlite_does(tmp_path: Path) -> None:
    path = tmp_path / "autocoder.db"
    database = open_database(f"sqlite:///{path}")  # a CLI command, a test: no thread
    assert database.checkpoints is None
    with database.engine.connect() as connection:
        assert (connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() or 0) > 0
    database.dispose()


def test_the_thread_keeps_the_log_small_and_stop_leaves_it_empty(tmp_path: Path) -> None:
    database, path = _open(tmp_path)
    checkpoints = database.checkpoints
    assert checkpoints is not None
    checkpoints.interval_s = 0.05
    checkpoints.start()
    for _ in range(10):  # bursts with pauses: each pause lets the log start over
        _insert(database, 100)
        time.sleep(0.15)
    largest_burst = 100 * 2 * 4096
    assert _wal_bytes(path) < 3 * largest_burst, "the log was checkpointed and reused"
    assert checkpoints.checkpoints > 5 and checkpoints.restarts == 0

    database.dispose()  # the server stops: TRUNCATE
    assert _wal_bytes(path) == 0
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM filler").fetchone() == (1000,)


def test_a_log_past_the_limit_is_restarted(tmp_path: Path) -> None:
    database, path = _open(tmp_path)
    _insert(database, 300)
    checkpointer = WalCheckpointer(path, interval_s=0.05, limit_pages=100)
    checkpointer.start()
    _wait(lambda: checkpointer.restarts >= 1, "a RESTART checkpoint")
    grown = _wal_bytes(path)
    assert grown > 300 * 4096
    _insert(database, 10)  # the log starts over from its beginning: the file does not grow
    assert _wal_bytes(path) == grown
    checkpointer.stop()
    database.dispose()
