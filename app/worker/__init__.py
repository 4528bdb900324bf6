"""Workers: threads inside `autocoder serve` that claim jobs and run their sessions through an
executor, heartbeating the lease, honouring cancellation, retrying transient failures with
backoff and taking over jobs whose worker died."""

from app.worker.pool import WorkerPool, start_workers

__all__ = ["WorkerPool", "start_workers"]
