"""At most one check-run update per interval, except the ones that must go out now."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Throttle:
    interval_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _last: float | None = field(default=None, init=False)

    def ready(self) -> bool:
        """True when an update may go out now (and records that it does)."""
        now = self.clock()
        if self._last is not None and now - self._last < self.interval_s:
            return False
        self._last = now
        return True

    def force(self) -> None:
        """Record an update that went out regardless (a push, the final report)."""
        self._last = self.clock()
