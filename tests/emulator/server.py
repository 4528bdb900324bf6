"""Assembly: the FastAPI app, and a uvicorn server on a background thread."""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import control, git_http
from .core import Emu
from .errors import DOCS, GitHubError
from .middleware import ApiMiddleware
from .routes import (
    actions,
    app_auth,
    checks,
    comments,
    issue_events,
    issue_graph,
    issues,
    labels,
    oauth,
    pulls,
    repos,
    users,
)
from .routes import html as web_pages

log = logging.getLogger(__name__)


def create_app(emu: Emu) -> FastAPI:
    app = FastAPI(title="GitHub emulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.emu = emu

    @app.exception_handler(GitHubError)
    async def github_error(request: Request, exc: GitHubError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = "Not Found" if exc.status_code in (404, 405) else str(exc.detail)
        status = 404 if exc.status_code == 405 else exc.status_code
        body = {"message": message, "documentation_url": DOCS, "status": str(status)}
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, status_code=404
        )

    # Order matters: check runs under /commits/{ref}/ before the commit route itself.
    for router in (
        control.router,
        app_auth.router,
        users.router,
        checks.router,
        actions.router,
        repos.router,
        comments.router,
        labels.router,
        issue_events.router,
        issue_graph.router,
        issues.router,
        pulls.router,
        git_http.router,
        oauth.router,  # github.com's /login/oauth/… (web host, not REST)
        web_pages.router,  # last: its /{owner}/{repo}/... pages never shadow REST
    ):
        app.include_router(router)
    app.add_middleware(ApiMiddleware)
    return app


class EmulatorServer:
    """Runs the emulator with uvicorn on a thread; `start()` returns once it answers."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: Path | None = None,
        log_level: str = "warning",
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="github-emulator-")
            state_dir = Path(self._tmp.name)
        state_dir.mkdir(parents=True, exist_ok=True)
        # proto given explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
        # is IPPROTO_TCP, and without it every keep-alive answer waits ~40 ms (delayed ACK)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        bound_host, bound_port = self._sock.getsockname()[:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        self.emu = Emu(base_url=self.base_url, state_dir=state_dir)
        self.app = create_app(self.emu)
        config = uvicorn.Config(
            self.app,
            log_level=log_level,
            lifespan="off",
            access_log=False,
            timeout_keep_alive=30,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> None:
        self.emu.deliverer.start()
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name="github-emulator",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the GitHub emulator did not start")
            time.sleep(0.01)

    def serve_forever(self) -> None:
        """Serve on the calling thread (for `python -m tests.emulator`)."""
        self.emu.deliverer.start()
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self.close()

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.close()

    def close(self) -> None:
        self.emu.deliverer.stop()
        self._sock.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
