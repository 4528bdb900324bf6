"""A stand-in for `runner.session_process` (same protocol: a work order line on stdin, event
lines on stdout, control lines after), for worker and executor tests that need real processes
but no GitHub. Its behaviour is its one argument, JSON `{"fake": ...}`:

- `succeed`: a `success` result (after `seconds`, reporting `github_requests` REST calls);
- `fail`: a permanent `Failure`;
- `crash`: exit 7 without a result;
- `wait_cancel`: wait for a `Stop` line, then a `cancelled` result;
- `hang`: start a grandchild (`sleep`), write both pids to `pids`, ignore SIGTERM, never end;
- `check_run`: say it opened check run `check_run_id`, then behave as `then`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from runner.events import (
    CheckRun,
    Failure,
    Result,
    SessionEvent,
    Started,
    Stop,
    event_line,
    parse_control,
)
from runner.work_order import WorkOrder


def emit(event: SessionEvent) -> None:
    sys.stdout.write(event_line(event))
    sys.stdout.flush()


def behave(order: WorkOrder, plan: dict[str, Any]) -> int:
    behaviour = plan.get("fake", "succeed")
    print(f"fake session for job {order.job_id}: {behaviour}", file=sys.stderr, flush=True)
    if behaviour == "check_run":
        emit(CheckRun(id=int(plan["check_run_id"]), state="in_progress", head_sha="0" * 40))
        return behave(order, {**plan, "fake": plan.get("then", "crash")})
    if behaviour == "succeed":
        time.sleep(float(plan.get("seconds", 0)))
        requests = int(plan.get("github_requests", 0))
        emit(Result(conclusion="success", summary="done", github_requests=requests))
    elif behaviour == "fail":
        emit(Failure(error="permanent", transient=False))
    elif behaviour == "crash":
        return 7
    elif behaviour == "wait_cancel":
        for line in sys.stdin:
            if isinstance(parse_control(line), Stop):
                emit(Result(conclusion="cancelled", stopped=True))
                return 0
    elif behaviour == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(["sleep", "1000"])
        if plan.get("pids"):
            Path(plan["pids"]).write_text(json.dumps([os.getpid(), child.pid]))
        while True:
            time.sleep(1)
    return 0


def main() -> int:
    plan = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    order = WorkOrder.from_line(sys.stdin.readline())
    emit(Started(session_id=order.session_id, pid=os.getpid()))
    return behave(order, plan)


if __name__ == "__main__":
    sys.exit(main())
