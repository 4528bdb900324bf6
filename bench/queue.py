"""Jobs claimed per second and claim latency, for 1, 2 and 4 workers, on SQLite and PostgreSQL.

    python -m bench.queue [--jobs 2000] [--installations 20] [--postgres URL]

Each worker is a process of its own (as replicas and `autocoder worker`s are) with its own
engine; it loops `store.claim_next` then `store.finish` until the queue is empty, timing each
claim. The queue is filled first with `--jobs` jobs spread over `--installations`
installations (one issue each), so fair share has work to do. SQLite: a temp WAL file.
PostgreSQL: a scratch database on `--postgres` (default: AUTOCODER_TEST_POSTGRES_URL, as
`source .ci/postgres.sh` sets it), dropped afterwards; skipped when neither is given.
Claims run without limits (`max_per_installation=None`): on PostgreSQL, workers side by side
skip each other's rows (`FOR UPDATE SKIP LOCKED`); on SQLite they queue on the write lock.
On PostgreSQL the filled table is ANALYZEd first (a live server's autovacuum keeps statistics).

Prints, per backend and worker count: jobs claimed per second (wall time from the first claim
to the last), and claim latency p50 / p95 / max in milliseconds. Checks that every job was
claimed exactly once.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from app.db.engine import open_database
from app.queue import store

WORKERS = (1, 2, 4)


def fill(url: str, jobs: int, installations: int) -> None:
    database = open_database(url)
    with database.sessions() as db:
        for n in range(jobs):
            store.enqueue(
                db,
                kind="start",
                repository=f"org{n % installations}/repo",
                issue_number=n + 1,
                installation_id=1000 + n % installations,
                actor="bench",
                payload={},
                delivery_id=None,
            )
        db.commit()
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("ANALYZE jobs"))  # planner statistics, as autovacuum keeps them
            db.commit()
    database.dispose()


def work(args: tuple[str, str, float]) -> tuple[list[int], list[float], float, float]:
    """One worker: claim and finish until nothing is left; (job ids, claim seconds, start, end)."""
    url, name, start_at = args
    database = open_database(url, run_migrations=False)
    ids: list[int] = []
    latencies: list[float] = []
    while time.time() < start_at:
        time.sleep(0.001)
    started = time.perf_counter()
    with database.sessions() as db:
        while True:
            before = time.perf_counter()
            job = store.claim_next(db, name, lease_s=60, max_per_installation=None)
            latencies.append(time.perf_counter() - before)
            if job is None:
                break
            ids.append(job.id)
            store.finish(db, job.id, name, state="succeeded")
    ended = time.perf_counter()
    database.dispose()
    return ids, latencies[:-1] or latencies, started, ended


def run(url: str, workers: int, jobs: int, installations: int) -> str:
    fill(url, jobs, installations)
    start_at = time.time() + 1.0  # every process up before the first claim
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        results = pool.map(work, [(url, f"w{i}", start_at) for i in range(workers)])
    claimed = sorted(job_id for ids, _, _, _ in results for job_id in ids)
    if len(claimed) != jobs or len(set(claimed)) != jobs:
        raise SystemExit(f"{len(claimed)} claims of {len(set(claimed))} jobs, expected {jobs}")
    latencies = sorted(s for _, lat, _, _ in results for s in lat)
    wall = max(end for *_, end in results) - min(start for *_, start, _ in results)
    p95 = latencies[int(len(latencies) * 0.95)]
    return (
        f"{workers} worker(s): {jobs / wall:8.0f} jobs/s   claim p50 "
        f"{statistics.median(latencies) * 1000:6.2f} ms  p95 {p95 * 1000:6.2f} ms  "
        f"max {latencies[-1] * 1000:7.2f} ms"
    )


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{Path(directory) / 'queue.db'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--installations", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("AUTOCODER_TEST_POSTGRES_URL", ""))
    options = parser.parse_args()
    print(f"{options.jobs} jobs over {options.installations} installations; claim + finish each")
    print("SQLite (WAL file)")
    for workers in WORKERS:
        with sqlite_url() as url:
            print("  " + run(url, workers, options.jobs, options.installations), flush=True)
    if not options.postgres:
        print("PostgreSQL: skipped (no --postgres URL or AUTOCODER_TEST_POSTGRES_URL)")
        return
    from tests.app.databases import scratch_database

    print("PostgreSQL")
    for workers in WORKERS:
        with scratch_database(options.postgres) as url:
            open_database(url).dispose()  # migrated before the clock starts
            print("  " + run(url, workers, options.jobs, options.installations), flush=True)


if __name__ == "__main__":
    main()
