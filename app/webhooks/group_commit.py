"""Group commit: many concurrent callers, one writer thread, one transaction per group.

Callers on an event loop `await submit(item)`; the writer thread takes every item waiting (up
to `max_batch`), hands them to `apply` together — which writes them in ONE transaction and
commits — and only then settles each caller's future with its result. No delay is added to
gather a group: while one group commits, the next one queues, so groups grow with the load and
a lone delivery is written at once.

`apply` must return one result per item, in order; it never raises for a single bad item (it
puts that item's failure in its result). If it raises anyway, every caller of the group gets
that exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, NamedTuple, TypeVar

_log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class _Waiting(NamedTuple, Generic[T, R]):
    item: T
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[R]


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        apply: Callable[[Sequence[T]], Sequence[R]],
        *,
        max_batch: int = 256,
        name: str = "group-commit",
    ) -> None:
        self._apply = apply
        self._max_batch = max_batch
        self._name = name
        self._queue: queue.SimpleQueue[_Waiting[T, R] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0  # groups committed (for tests and metrics)
        self.largest = 0  # the largest group so far

    async def submit(self, item: T) -> R:
        """Queue `item`; return its result once its group is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._start()
        self._queue.put(_Waiting(item, loop, future))
        return await future

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the writer thread (a later `submit` starts it
        again: an App may be served more than once, as tests do)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                stopping = True
                group: list[_Waiting[T, R]] = []
            else:
                group = [first]
            while len(group) < self._max_batch:
                try:
                    waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:
                    stopping = True
                else:
                    group.append(waiting)
            if group:
                self._write(group)

    def _write(self, group: list[_Waiting[T, R]]) -> None:
        failure: BaseException | None = None
        results: Sequence[R] = ()
        try:
            results = self._apply([item for item, _, _ in group])
            if len(results) != len(group):
                raise RuntimeError(f"{len(results)} results for a group of {len(group)}")
        except Exception as exc:
            _log.exception("%s: a group of %d could not be written", self._name, len(group))
            failure = exc
        self.batches += 1
        self.largest = max(self.largest, len(group))
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[R], object]]] = {}
        for index, (_, loop, future) in enumerate(group):
            outcome: object = failure if failure is not None else results[index]
            by_loop.setdefault(loop, []).append((future, outcome))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_settle, settled, failure is not None)


def _settle(settled: list[tuple[asyncio.Future[R], object]], failed: bool) -> None:
    for future, outcome in settled:
        if future.done():
            continue
        if failed:
            assert isinstance(outcome, BaseException)
            future.set_exception(outcome)
        else:
            future.set_result(outcome)  # type: ignore[arg-type]
