"""Transactions on a SQLite file take turns through `<database>.lock` (app/db/sqlite_turns.py)
— on a real SQLite file, with threads and another process: a transaction holds the lock from
its begin to its end however it ends, a second process waits for it (and goes on the moment it
is released), and a second transaction inside the first on the same thread does not wait for
itself."""

from __future__ import annotations

import fcntl
import multiprocessing
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.db import engine as engine_module
from app.db.engine import Database, open_database
from app.webhooks.raw_write import write_raw


def _open(tmp_path: Path) -> tuple[Database, Path]:
    path = tmp_path / "autocoder.db"
    database = open_database(f"sqlite:///{path}")
    return database, path.with_name("autocoder.db.lock")


def _is_taken(lock: Path) -> bool:
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_a_transaction_holds_the_turn_until_it_ends(tmp_path: Path) -> None:
    database, lock = _open(tmp_path)
    assert not _is_taken(lock)
    with database.sessions() as db:
        db.execute(text("SELECT 1"))
        assert _is_taken(lock), "taken at the transaction's begin"
        db.commit()
        assert not _is_taken(lock), "released at its commit"
        db.execute(text("SELECT 1"))
        assert _is_taken(lock)
        db.rollback()
        assert not _is_taken(lock), "released at its rollback"
        db.execute(text("SELECT 1"))
    assert not _is_taken(lock), "released when the session closes without ending it"
    database.dispose()


def test_the_raw_webhook_write_takes_its_turn_too(tmp_path: Path) -> None:
    database, lock = _open(tmp_path)
    with lock.open("a") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        context = multiprocessing.get_context("fork")
        done = context.Event()

        def write() -> None:
            database.engine.dispose(close=False)  # the parent's connections stay the parent's
            write_raw(database.engine, [])
            done.set()

        writer = context.Process(target=write)
        writer.start()
        assert not done.wait(0.5), "the raw write waited for the turn"
        fcntl.flock(other, fcntl.LOCK_UN)
        assert done.wait(20), "and went on once it was free"
        writer.join(20)
    database.dispose()


def _hold_a_transaction(url: str, began: object, release: object) -> None:
    database = open_database(url, run_migrations=False)
    with database.sessions() as db:
        db.execute(text("SELECT 1"))
        began.set()  # type: ignore[attr-defined]
        release.wait(30)  # type: ignore[attr-defined]
        db.commit()
    database.dispose()


def test_another_process_waits_for_the_turn_then_goes_on(tmp_path: Path) -> None:
    database, lock = _open(tmp_path)
    context = multiprocessing.get_context("spawn")
    began, release = context.Event(), context.Event()
    url = database.engine.url.render_as_string(hide_password=False)
    holder = context.Process(target=_hold_a_transaction, args=(url, began, release))
    holder.start()
    try:
        assert began.wait(60)
        assert _is_taken(lock)
        timer = threading.Timer(0.5, release.set)
        timer.start()
        started = time.monotonic()
        with database.sessions() as db:
            db.execute(text("SELECT 1"))  # waits for the other process's commit
            waited = time.monotonic() - started
            db.commit()
        timer.join()
        assert waited >= 0.45, "it waited for the holder's turn to end"
    finally:
        release.set()
        holder.join(30)
    database.dispose()


def test_a_nested_transaction_on_the_same_thread_does_not_wait_for_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 300)
    database, lock = _open(tmp_path)
    started = time.monotonic()
    with database.sessions() as outer, database.sessions() as inner:
        outer.execute(text("SELECT 1"))
        with pytest.raises(OperationalError, match="locked"):
            inner.execute(text("SELECT 1"))  # SQLite's busy timeout, not a hang
        outer.commit()
    assert time.monotonic() - started < 20
    assert not _is_taken(lock)
    database.dispose()
