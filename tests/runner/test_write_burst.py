"""Write pacing of the GitHub boundary: a session's first few writes go at once (`write_burst`),
after which mutating requests are spaced by `seconds_between_writes` (GitHub's advice against
secondary limits). Real HTTP on loopback; the sleeps are recorded instead of slept."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from runner.github.http import GitHubHTTP


class _Answer(BaseHTTPRequestHandler):
    def _ok(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = json.dumps({"id": 1}).encode()
        self.send_response(201)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PATCH = do_GET = _ok

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def loopback() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _writes(burst: int, count: int) -> list[float]:
    slept: list[float] = []
    with loopback() as url:
        http = GitHubHTTP(url, seconds_between_writes=1.0, write_burst=burst, sleep=slept.append)
        try:
            http.request("reading", "GET", "/repos/o/r")  # reads are never paced
            for n in range(count):
                http.request(f"write {n}", "POST", "/repos/o/r/issues/1/comments", json={})
        finally:
            http.close()
    return slept


def test_without_a_burst_every_write_after_the_first_waits() -> None:
    slept = _writes(burst=0, count=4)
    assert len(slept) == 3
    assert all(0.5 < wait <= 1.0 for wait in slept)


def test_a_burst_lets_the_first_writes_go_at_once_then_paces_the_rest() -> None:
    slept = _writes(burst=4, count=8)
    assert len(slept) == 3, "writes 1-5 at once (the first plus a burst of 4); 6, 7, 8 paced"
    assert all(0.5 < wait <= 1.0 for wait in slept)
