"""One lock per mirror, so two sessions never change the same mirror at once."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_path(mirror: Path) -> Path:
    """The lock file of `mirror`: a sibling, so it survives the mirror being replaced."""
    return mirror.with_name(mirror.name + ".lock")


@contextmanager
def mirror_lock(mirror: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on the mirror's lock file (blocks until it is free).

    Works between processes and between threads (each holder opens its own file description);
    the kernel drops the lock if the holder dies.
    """
    path = lock_path(mirror)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
