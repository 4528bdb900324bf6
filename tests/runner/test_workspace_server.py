"""A small smart-HTTP git server for workspace tests and `bench.workspace` (temporary).

`git http-backend` runs as CGI behind `http.server` on 127.0.0.1, in a thread, and requires
`Authorization: Basic base64("x-access-token:<token>")` like GitHub does (401 with
`WWW-Authenticate` otherwise). Temporary: the project's GitHub emulator (tests/emulator) serves
repositories the same way; once it offers a ready API, these tests and the bench can move to it.
"""

from __future__ import annotations

import base64
import hmac
import http.client
import io
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlsplit

import pytest

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    authorized: bool
    authorization: str | None


class GitHttpServer:
    """Serves every bare repository under `root` at `http://127.0.0.1:<port>/<path>`."""

    def __init__(self, root: Path, token: str | None) -> None:
        self.root = root
        self.token = token
        self.requests: list[Request] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, repo: str) -> str:
        """Clone URL of `<root>/<repo>.git`, e.g. `url("acme/widgets")`."""
        return f"{self.base_url}/{repo}.git"

    def create_repo(self, repo: str) -> Path:
        """An empty bare repository at `<root>/<repo>.git`."""
        path = self.root / f"{repo}.git"
        subprocess.run(
            ["git", "init", "--bare", "--quiet", "--initial-branch=main", str(path)], check=True
        )
        return path

    def expected_authorization(self) -> str | None:
        if self.token is None:
            return None
        raw = f"x-access-token:{self.token}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def start(self) -> GitHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> GitHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(server: GitHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _authorized(self) -> bool:
            expected = server.expected_authorization()
            if expected is None:
                return True
            given = self.headers.get("Authorization") or ""
            return hmac.compare_digest(given.encode(), expected.encode())

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                parts: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _serve(self) -> None:
            body = self._read_body()
            authorized = self._authorized()
            server.requests.append(
                Request(self.command, self.path, authorized, self.headers.get("Authorization"))
            )
            if not authorized:
                message = b"authentication required\n"
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="autocoder-test"')
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(message)))
                self.end_headers()
                self.wfile.write(message)
                return
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(server.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": unquote(path),
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": "x-access-token",  # also enables receive-pack (push)
                "REMOTE_ADDR": self.client_address[0],
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            process = subprocess.Popen(
                ["git", "http-backend"],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            assert process.stdin is not None and process.stdout is not None
            stdout = cast(io.BufferedReader, process.stdout)
            writer = threading.Thread(target=_feed, args=(process.stdin, body), daemon=True)
            writer.start()
            status, headers = 200, []
            while True:
                line = stdout.readline().rstrip(b"\r\n")
                if not line:
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                else:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while chunk := stdout.read1(CHUNK):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            process.wait()
            writer.join()

    return Handler


def _feed(stdin: object, body: bytes) -> None:
    assert hasattr(stdin, "write") and hasattr(stdin, "close")
    try:
        stdin.write(body)
    except BrokenPipeError:
        pass
    finally:
        stdin.close()


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    root = tmp_path / "served"
    root.mkdir()
    with GitHttpServer(root, token="ghs_test-token-123") as server:
        yield server


def _get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


def test_refuses_requests_without_the_token(git_server: GitHttpServer) -> None:
    git_server.create_repo("acme/widgets")
    url = git_server.url("acme/widgets") + "/info/refs?service=git-upload-pack"
    status, headers = _get(url, {})
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic ")
    status, _ = _get(url, {"Authorization": "Basic " + base64.b64encode(b"x:y").decode()})
    assert status == 401


def test_serves_refs_with_the_token(git_server: GitHttpServer) -> None:
    git_server.create_repo("acme/widgets")
    url = git_server.url("acme/widgets") + "/info/refs?service=git-upload-pack"
    authorization = git_server.expected_authorization()
    assert authorization is not None
    status, headers = _get(url, {"Authorization": authorization})
    assert status == 200
    assert headers["Content-Type"] == "application/x-git-upload-pack-advertisement"
