"""More processes answering the port (`autocoder serve --processes N`).

One Python process answers webhooks on about one core. With N > 1, `autocoder serve` binds its
port with SO_REUSEPORT and starts N - 1 helper processes that bind the same address the same way;
the kernel spreads connections over them. Each helper is the same App (every route answers the
same: they share the database) without the workers and the reconcile, which run once, in the
first process. Each process writes its deliveries in groups (`GroupCommit`); a file lock beside
the SQLite database lets one group at a time write, so the processes take turns without
SQLite's busy-wait sleeps. A helper exits when the first process is gone.

Counters of `/metrics` are per process (a scrape sees the process it reached).

    python -m app.webhooks.processes --host H --port P --env-file F --log-level L
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

_log = logging.getLogger(__name__)


def listening_socket(host: str, port: int) -> socket.socket:
    """`host:port` bound with SO_REUSEPORT (so several processes can listen on it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


def start_helpers(
    count: int, host: str, port: int, env_file: Path, log_level: str
) -> list[subprocess.Popen[bytes]]:
    """`count` helper processes serving `host:port` beside this one."""
    command = [sys.executable, "-m", "app.webhooks.processes", "--host", host,
               "--port", str(port), "--env-file", str(env_file), "--log-level", log_level,
               "--parent", str(os.getpid())]  # fmt: skip
    return [subprocess.Popen(command, stdin=subprocess.DEVNULL) for _ in range(count)]


def stop_helpers(helpers: list[subprocess.Popen[bytes]]) -> None:
    for helper in helpers:
        if helper.poll() is None:
            helper.terminate()
    for helper in helpers:
        try:
            helper.wait(30)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()


def _exit_with(parent: int) -> None:
    """End this helper when the process that started it is gone (even killed with SIGKILL)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from app.config import ServeConfig
    from app.main import create_app

    parser = argparse.ArgumentParser(description="a helper process of autocoder serve")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--env-file", type=Path, required=True)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    threading.Thread(target=_exit_with, args=(args.parent,), daemon=True).start()
    config = ServeConfig.load(os.environ, args.env_file)
    app = create_app(config.app, config=config, run_workers=False, run_reconcile=False)
    sock = listening_socket(args.host, args.port)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level=args.log_level, access_log=False, lifespan="on")
    )
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
