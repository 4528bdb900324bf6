"""More processes answering the port (`autocoder serve --processes N`).

One Python process answers webhooks on about one core. With N > 1, `autocoder serve` binds its
port with SO_REUSEPORT and starts N - 1 helper processes that bind the same address the same way;
the kernel spreads connections over them. Each helper is the same App (every route answers the
same: they share the database) without the workers and the reconcile, which run once, in the
first process. Each process writes its deliveries in groups (`GroupCommit`); a file lock beside
the SQLite database lets one group at a time write, so the processes take turns without
SQLite's busy-wait sleeps. A helper exits when the first process is gone.

The first process answers only once every helper listens (`wait_until_listening`: each helper
writes to a pipe when its server has started). The kernel spreads connections over the sockets
listening when each connection is made, and keeps it there; a client that connected while only
the first process listened would stay on it. Measured: with the 32 connections of
`bench/webhooks.py` made before the helper listened, one process served them all, at about half
the throughput (3,800 instead of 6,000-7,400 deliveries/s).

Counters of `/metrics` are per process (a scrape sees the process it reached).

    python -m app.webhooks.processes --host H --port P --env-file F --log-level L
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass
class Helper:
    process: subprocess.Popen[bytes]
    ready: int  # read end of the pipe the helper writes to once it listens


def start_helpers(count: int, host: str, port: int, env_file: Path, log_level: str) -> list[Helper]:
    """`count` helper processes serving `host:port` beside this one."""
    helpers = []
    for _ in range(count):
        ready, told = os.pipe()
        command = [sys.executable, "-m", "app.webhooks.processes", "--host", host,
                   "--port", str(port), "--env-file", str(env_file), "--log-level", log_level,
                   "--parent", str(os.getpid()), "--ready-fd", str(told)]  # fmt: skip
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, pass_fds=(told,))
        finally:
            os.close(told)
        helpers.append(Helper(process, ready))
    return helpers


class HelperFailed(RuntimeError):
    """A helper process ended before it listened."""


def wait_until_listening(helpers: list[Helper], timeout: float) -> list[Helper]:
    """Wait until every helper listens, or `timeout` seconds; returns the helpers still starting
    then. Raises `HelperFailed` when one exits first (its own output says why)."""
    waiting = {helper.ready: helper for helper in helpers}
    deadline = time.monotonic() + timeout
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        readable, _, _ = select.select(list(waiting), [], [], left)
        for fd in readable:
            helper = waiting.pop(fd)
            if not os.read(fd, 16):  # the pipe closed unwritten: the helper ended
                code = helper.process.wait()
                raise HelperFailed(f"a helper process (pid {helper.process.pid}) exited with "
                                   f"code {code} before it listened")  # fmt: skip
    return list(waiting.values())


def stop_helpers(helpers: list[Helper]) -> None:
    for helper in helpers:
        if helper.process.poll() is None:
            helper.process.terminate()
    for helper in helpers:
        try:
            helper.process.wait(30)
        except subprocess.TimeoutExpired:
            helper.process.kill()
            helper.process.wait()
        with contextlib.suppress(OSError):
            os.close(helper.ready)


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
    parser.add_argument("--ready-fd", type=int, help="written to once this process listens")
    args = parser.parse_args(argv)
    threading.Thread(target=_exit_with, args=(args.parent,), daemon=True).start()
    config = ServeConfig.load(os.environ, args.env_file)
    app = create_app(config.app, config=config, run_workers=False, run_reconcile=False)
    sock = listening_socket(args.host, args.port)
    ready_fd = args.ready_fd

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit and ready_fd is not None:
                os.write(ready_fd, b"listening")
                os.close(ready_fd)

    server = Server(uvicorn.Config(app, log_level=args.log_level, access_log=False, lifespan="on"))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
