"""Transactions on one SQLite file take turns through a file lock, instead of SQLite's sleeps.

Every transaction on a SQLite file begins with `BEGIN IMMEDIATE` (app/db/engine.py): it takes
the database's write lock. A connection that finds it taken waits in SQLite's busy handler,
which sleeps between tries — 1, 2, 5, 10 … up to 100 ms — and while others commit every few
milliseconds it can lose again and again: `bench/queue.py` measured a claim waiting 11 s with two
worker processes (p50 9 ms). So each transaction first takes an exclusive `flock` on
`<database>.lock`, the threads and processes using the file alike (each connection holds its own
descriptor): the kernel hands the lock to a waiter as soon as it is released, and waiters take
turns.

The lock is taken when SQLAlchemy begins a transaction and released when it commits or rolls
back (just before the COMMIT itself, whose microseconds the next writer's busy handler waits
out), or when the connection goes back to the pool. A transaction begun on a thread that already
holds a turn (a second connection inside the first's transaction) does not wait for the lock —
it would wait for itself — and meets SQLite's own busy handler, as without turns.
"""

from __future__ import annotations

import fcntl
import threading
import weakref
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, event

_FILE = "turn_file"  # keys in the pool record's `info`
_HELD = "turn_held"  # (thread id, whether this connection holds the lock)


class Turns:
    """The turns of one SQLite file (`lock_path`), for the connections of one engine."""

    def __init__(self, lock_path: Path) -> None:
        self.lock_path = lock_path
        self._mutex = threading.Lock()
        self._depth: dict[int, int] = {}  # transactions open per thread

    def opened(self, info: dict[str, Any]) -> None:
        """A new DB-API connection (its pool record's `info`): its own lock descriptor."""
        info[_FILE] = self.lock_path.open("a")

    def closed(self, info: dict[str, Any]) -> None:
        self.release(info)
        handle: IO[str] | None = info.pop(_FILE, None)
        if handle is not None:
            handle.close()

    def take(self, info: dict[str, Any]) -> None:
        """Before `BEGIN IMMEDIATE`: wait for this connection's turn (unless this thread has a
        turn already)."""
        handle: IO[str] | None = info.get(_FILE)
        if handle is None or _HELD in info:
            return
        thread = threading.get_ident()
        with self._mutex:
            first = self._depth.get(thread, 0) == 0
            self._depth[thread] = self._depth.get(thread, 0) + 1
        if first:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
            except BaseException:
                self._leave(thread)
                raise
        info[_HELD] = (thread, first)

    def release(self, info: dict[str, Any]) -> None:
        """The transaction ends (or its connection goes back to the pool)."""
        held: tuple[int, bool] | None = info.pop(_HELD, None)
        if held is None:
            return
        thread, locked = held
        if locked:
            handle: IO[str] | None = info.get(_FILE)
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
        self._leave(thread)

    def _leave(self, thread: int) -> None:
        with self._mutex:
            depth = self._depth.get(thread, 0) - 1
            if depth > 0:
                self._depth[thread] = depth
            else:
                self._depth.pop(thread, None)


_ENGINES: weakref.WeakKeyDictionary[Engine, Turns] = weakref.WeakKeyDictionary()


def take_turns(engine: Engine, lock_path: Path) -> Turns:
    """Every transaction SQLAlchemy begins on `engine` takes its turn first (call before the
    engine's own `begin` listener, which sends `BEGIN IMMEDIATE`)."""
    turns = Turns(lock_path)
    _ENGINES[engine] = turns

    @event.listens_for(engine, "connect")
    def _opened(_dbapi: Any, record: Any) -> None:
        turns.opened(record.info)

    @event.listens_for(engine, "close")
    def _closed(_dbapi: Any, record: Any) -> None:
        turns.closed(record.info)

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi: Any, record: Any) -> None:
        if record is not None:
            turns.release(record.info)

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        turns.take(connection.info)

    @event.listens_for(engine, "commit")
    def _commit(connection: Any) -> None:
        turns.release(connection.info)

    @event.listens_for(engine, "rollback")
    def _rollback(connection: Any) -> None:
        turns.release(connection.info)

    return turns


def turns_of(engine: Engine) -> Turns | None:
    """The turns of `engine`'s SQLite file (None: it takes none), for code that begins its
    transactions itself on a raw connection."""
    return _ENGINES.get(engine)
