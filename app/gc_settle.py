"""The cyclic garbage collector, once the server has started.

Everything made at start-up (FastAPI's routes, SQLAlchemy's mappers and metadata, the settings,
imported modules) lives as long as the process. Left in the collector's generations, it is
scanned again at every full collection — a pause of milliseconds, every few thousand webhook
deliveries (each parsed delivery makes thousands of short-lived objects), that shows in the
slowest answers. `gc.freeze()` moves it out of the generations for good (CPython's advice for
long-running servers, see the `gc` module's documentation).
"""

from __future__ import annotations

import gc


def settle_garbage_collector() -> None:
    """Collect what start-up left behind, then freeze what survives."""
    gc.collect()
    gc.freeze()
