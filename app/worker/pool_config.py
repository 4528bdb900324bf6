"""How a worker pool runs (`PoolConfig`, from the worker settings), what an executor that keeps
a warm session needs to offer, and the unique prefix of this server's worker ids."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from app.worker.settings import WorkerSettings


@dataclass(frozen=True)
class PoolConfig:
    concurrency: int = 1
    lease_s: float = 60.0
    heartbeat_s: float = 20.0
    poll_s: float = 1.0
    max_per_installation: int | None = None
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 900.0
    cancel_grace_s: float = 30.0
    stop_grace_s: float = 15.0
    log_dir: Path | None = None
    max_attempts: int | None = None  # None: each job keeps the budget it was stored with

    @classmethod
    def from_settings(
        cls, knobs: WorkerSettings, concurrency: int, log_dir: Path | None
    ) -> PoolConfig:
        return cls(
            concurrency=concurrency,
            lease_s=knobs.lease_seconds,
            heartbeat_s=knobs.heartbeat_interval,
            poll_s=knobs.poll_seconds,
            max_per_installation=knobs.max_per_installation,
            backoff_base_s=knobs.retry_backoff_seconds,
            backoff_cap_s=knobs.retry_backoff_max_seconds,
            cancel_grace_s=knobs.cancel_grace_seconds,
            stop_grace_s=knobs.stop_grace_seconds,
            log_dir=knobs.session_log_dir or log_dir,
            max_attempts=knobs.max_attempts,
        )


@runtime_checkable
class KeepsWarmSessions(Protocol):
    """An executor that keeps a session process started ahead of time (`LocalExecutor`)."""

    def prepare(self, env: Mapping[str, str], log_dir: Path | None) -> None: ...

    def close(self) -> None: ...


def new_worker_prefix() -> str:
    """Unique per server start (a restarted server may get the same pid, e.g. in a container:
    it must not be able to renew a lease its dead predecessor held)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
