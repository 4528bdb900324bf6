"""The entry of a session's pod (the `kubernetes` executor): reads the work order and the
session's environment from the Secret's volume (`$AUTOCODER_SESSION_SECRET_DIR`), runs the
session's command (after `--`: `python -m runner.session_process`) with the order on stdin,
and lets its stdout — the event lines — and its stderr go to the pod's log, where the App
reads them. SIGTERM (the Job deleted: a stop) is passed on to the session, which concludes its
check run; the entry exits with the session's exit code.

    python -m app.executors.k8s_entry -- python -m runner.session_process
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from app.executors.k8s_manifests import ENV_KEY, ORDER_KEY, SECRET_DIR, SECRET_DIR_ENV


def session_env(secret_dir: Path, base: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    env.pop(SECRET_DIR_ENV, None)
    env.update(json.loads((secret_dir / ENV_KEY).read_text()))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1 :] if "--" in argv else []
    if not command:
        print("usage: python -m app.executors.k8s_entry -- COMMAND…", file=sys.stderr)
        return 2
    secret_dir = Path(os.environ.get(SECRET_DIR_ENV, SECRET_DIR))
    order = (secret_dir / ORDER_KEY).read_bytes()
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, env=session_env(secret_dir, dict(os.environ))
    )

    def pass_on(signum: int, frame: FrameType | None) -> None:
        process.send_signal(signum)

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    assert process.stdin is not None
    try:
        process.stdin.write(order)
        process.stdin.flush()
    except BrokenPipeError:
        pass
    # stdin stays open: a session reads control lines until it ends (none come in a pod;
    # a stop is the Job's deletion, SIGTERM).
    code = process.wait()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
