"""A stand-in for `app.session_main` (same arguments, same database), for worker and executor
tests that need real processes but no GitHub: its behaviour comes from the job's payload
`{"fake": ...}`:

- `succeed`: record success;  `fail`: record a permanent failure;
- `crash`: exit 7 without recording anything;
- `wait_cancel`: heartbeat until `cancel_requested`, then record `cancelled`;
- `hang`: start a grandchild (`sleep`), write both pids to `pids`, ignore SIGTERM, never end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.db.engine import open_database
from app.executors.base import DATABASE_URL_ENV
from app.queue import store
from app.session_main import die_with_parent, parse_args


def main() -> int:
    args = parse_args(sys.argv[1:])
    die_with_parent(args.parent_pid)
    database = open_database(os.environ[DATABASE_URL_ENV], run_migrations=False)
    with database.sessions() as db:
        job = store.get_job(db, args.job_id)
        assert job is not None
        behaviour = job.payload.get("fake", "succeed")
        pids_file = job.payload.get("pids")
        db.commit()  # every transaction holds SQLite's write lock (BEGIN IMMEDIATE): end it
        print(f"fake session for job {job.id}: {behaviour}", flush=True)
        if behaviour == "succeed":
            time.sleep(float(job.payload.get("seconds", 0)))
            store.finish(db, job.id, args.worker_id, state="succeeded")
        elif behaviour == "fail":
            store.fail(db, job.id, args.worker_id, error="permanent", transient=False)
        elif behaviour == "crash":
            return 7
        elif behaviour == "wait_cancel":
            while True:
                store.heartbeat(db, job.id, args.worker_id, lease_s=args.lease_seconds)
                current = store.get_job(db, job.id)
                if current is not None and current.cancel_requested:
                    store.finish(db, job.id, args.worker_id, state="cancelled", error="stopped")
                    return 0
                time.sleep(0.1)
        elif behaviour == "hang":
            db.close()
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            child = subprocess.Popen(["sleep", "1000"])
            if pids_file:
                Path(pids_file).write_text(json.dumps([os.getpid(), child.pid]))
            while True:
                time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
