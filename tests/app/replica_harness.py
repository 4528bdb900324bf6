"""Replicas for end-to-end tests: `autocoder serve` processes on one database, a shared webhook
sender in front of them (round-robin, the next replica when one does not answer, as a load
balancer with a health check does), and killing a replica the way a machine dies (SIGKILL to
it and every process it started)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

_FORWARDED = ("content-type", "x-github-event", "x-github-delivery", "x-hub-signature-256")


@contextmanager
def webhook_sender(backends: Sequence[str]) -> Iterator[tuple[str, list[int]]]:
    """An HTTP front on 127.0.0.1 sending each POST to the next backend in turn; a backend that
    refuses or drops the connection is skipped and the delivery goes to the next one. Yields
    (its URL, the status codes the backends answered)."""
    turn = itertools.cycle(range(len(backends)))
    lock = threading.Lock()
    answered: list[int] = []
    client = httpx.Client(timeout=30)

    class Front(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() in _FORWARDED}
            for _ in range(3 * len(backends)):
                with lock:
                    backend = backends[next(turn)]
                try:
                    response = client.post(backend + self.path, content=body, headers=headers)
                except httpx.TransportError:
                    continue  # that replica is gone: the next one takes the delivery
                with lock:
                    answered.append(response.status_code)
                self.send_response(response.status_code)
                self.send_header("content-length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)
                return
            self.send_error(502, "no replica answered")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Front)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answered
    finally:
        server.shutdown()
        server.server_close()
        client.close()


def descendants(pid: int) -> list[int]:
    """Every process started by `pid`, directly or not (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_machine(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the replica and everything it started, all at once (a machine dying): all are
    frozen first (SIGSTOP, the replica before its children), so that no survivor sees another
    die and records it — a killed session seen by its live replica would be an interruption,
    not a machine's death."""
    with suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGSTOP)
    victims = [process.pid, *descendants(process.pid)]
    for pid in victims[1:]:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
    for pid in victims:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(10)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        kill_machine(process)
