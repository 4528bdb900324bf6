"""The server's SQLite checkpoints, off the commit path.

Left to itself, SQLite checkpoints inside the commit that takes the write-ahead log past
`wal_autocheckpoint` pages: that commit — the webhook writer's, holding every delivery of its
group, while the other processes wait for their turn — copies the log into the database file
and syncs it first. Under a burst those stalls are the slowest answers (bench/webhooks.py,
two processes: p99 18–25 ms with checkpoints in the commit, 10 ms without).

So `autocoder serve` opens its database with automatic checkpoints off (`make_engine(...,
background_checkpoints=True)`) and one thread per process checkpoints instead:

- every `interval_s`, a PASSIVE checkpoint: it copies what it can without waiting for readers
  or writers, and commits go on meanwhile. Once it has copied everything, the next commit
  starts the log over from its beginning, so the log stays as small as the load allows;
- when the log has grown past `limit_pages` anyway (a burst that never pauses), a RESTART
  checkpoint, which makes writers wait until it is done — as every checkpoint did before, now
  only after hundreds of megabytes;
- when the server stops, a TRUNCATE checkpoint leaves an empty log.

Durability is unchanged: a commit is in the log before it is answered (see app/db/engine.py);
a checkpoint only moves committed pages into the database file. Several processes each run
one; SQLite lets one checkpoint run at a time and the others report busy, which is skipped.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

_log = logging.getLogger(__name__)

LIMIT_PAGES = 100_000  # ~400 MB of log with 4 KiB pages
INTERVAL_S = 1.0
BUSY_TIMEOUT_MS = 10_000


class WalCheckpointer:
    """Checkpoints the SQLite database at `path` from a thread of its own (`start`/`stop`)."""

    def __init__(
        self, path: Path, *, interval_s: float = INTERVAL_S, limit_pages: int = LIMIT_PAGES
    ) -> None:
        self.path = path
        self.interval_s = interval_s
        self.limit_pages = limit_pages
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: sqlite3.Connection | None = None  # the thread's, then stop's
        self.checkpoints = 0  # checkpoints that ran (for tests)
        self.restarts = 0  # of them, RESTART checkpoints (the log was over the limit)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, then leave the log empty (when nothing else is writing)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(30)
        self._checkpoint("TRUNCATE")
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            log_pages = self._checkpoint("PASSIVE")
            if log_pages is not None and log_pages > self.limit_pages:
                self._checkpoint("RESTART")
                self.restarts += 1

    def _checkpoint(self, mode: str) -> int | None:
        """One checkpoint; the log's size in pages before it (None: it did not run)."""
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
                )
            row = self._connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except sqlite3.Error as error:  # another process's checkpoint, a locked file...
            _log.debug("%s checkpoint of %s did not run: %s", mode, self.path, error)
            return None
        self.checkpoints += 1
        log_pages = int(row[1])
        return log_pages if log_pages >= 0 else None  # -1: the database is not in WAL mode
