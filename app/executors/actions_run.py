"""The far end of the `actions` executor, run by the session workflow
(`app/executors/autocoder-session.yml`) inside a GitHub Actions run:

    AUTOCODER_WORK_ORDER_ID=… AUTOCODER_APP_URL=… AUTOCODER_WORK_ORDER_TOKEN=… \\
        python -m app.executors.actions_run

It fetches its work order from the App with the one-time token (`GET /api/work-orders/{id}`),
runs `python -m runner.session_process` with the order on its stdin, and reports the
session's event lines to the App (`POST /api/work-orders/{id}/events`, with the events token
the fetch returned) at least every `AUTOCODER_REPORT_SECONDS` — a report with no event is a
heartbeat. The answer to each report carries the worker's control lines (stop, a fresh
installation token), which go to the session's stdin. When the App refuses a report (the
attempt is over), the session is stopped. The exit status is the session process's.

Nothing here is a secret in a log: the token is masked (`::add-mask::`) before anything else
is printed, and the session process gets neither token in its environment.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

import httpx

log = logging.getLogger("autocoder.actions_run")

ENV_ORDER = "AUTOCODER_WORK_ORDER_ID"
ENV_APP_URL = "AUTOCODER_APP_URL"
ENV_TOKEN = "AUTOCODER_WORK_ORDER_TOKEN"  # noqa: S105  # a variable's name
ENV_REPORT_SECONDS = "AUTOCODER_REPORT_SECONDS"
URGENT = frozenset({"started", "check_run", "result", "failure"})
FETCH_PATIENCE_S = 60.0


class RunError(RuntimeError):
    """The run cannot go on (no order, the App refused it)."""


def fetch_order(http: httpx.Client, order_id: str, token: str) -> tuple[dict[str, Any], str]:
    """The work order and the events token. Retries while the App is not reachable or the
    order is not ready (409), for up to a minute."""
    deadline = time.monotonic() + FETCH_PATIENCE_S
    while True:
        try:
            answer = http.get(
                f"/api/work-orders/{order_id}", headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as error:
            if time.monotonic() > deadline:
                raise RunError(f"the App is not reachable: {error}") from None
            time.sleep(1)
            continue
        if answer.status_code == 200:
            data = answer.json()
            return data["work_order"], str(data["events_token"])
        if answer.status_code != 409 or time.monotonic() > deadline:
            raise RunError(
                f"the App refused the work order: {answer.status_code} {answer.text[:200]}"
            )
        time.sleep(0.5)


class Reporter:
    """Sends the session's events; hands back the controls the App answers with."""

    def __init__(self, http: httpx.Client, order_id: str, events_token: str) -> None:
        self.http = http
        self.path = f"/api/work-orders/{order_id}/events"
        self.headers = {"Authorization": f"Bearer {events_token}"}
        self.refused = False

    def send(self, events: list[Any], exit_code: int | None = None) -> list[dict[str, Any]] | None:
        """The controls, or None when the report did not get through (sent again later)."""
        try:
            answer = self.http.post(
                self.path, json={"events": events, "exit_code": exit_code}, headers=self.headers
            )
        except httpx.HTTPError as error:
            log.warning("report failed (%s); will retry", type(error).__name__)
            return None
        if answer.status_code in (401, 404, 410):
            self.refused = True
            return []
        if answer.status_code != 200:
            log.warning("report refused: %s", answer.status_code)
            return None
        controls: list[dict[str, Any]] = answer.json().get("controls", [])
        return controls


def session_env(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k not in (ENV_TOKEN, ENV_ORDER, ENV_APP_URL)}


def _read_events(stdout: IO[bytes], inbox: queue.Queue[object]) -> None:
    for raw in stdout:
        line = raw.decode(errors="replace").strip()
        if not line:
            continue
        try:
            inbox.put(json.loads(line))
        except ValueError:
            inbox.put({"type": "log", "line": line[:2000]})
    inbox.put(None)


def run(environ: Mapping[str, str]) -> int:
    order_id = environ.get(ENV_ORDER, "")
    app_url = environ.get(ENV_APP_URL, "").rstrip("/")
    token = environ.get(ENV_TOKEN, "")
    if environ.get("GITHUB_ACTIONS") == "true" and token:
        print(f"::add-mask::{token}", flush=True)
    if not (order_id and app_url and token):
        raise RunError(f"set {ENV_ORDER}, {ENV_APP_URL} and {ENV_TOKEN} (the workflow's inputs)")
    every = float(environ.get(ENV_REPORT_SECONDS) or 10)
    with httpx.Client(base_url=app_url, timeout=30) as http:
        order, events_token = fetch_order(http, order_id, token)
        log.info(
            "job %s attempt %s: %s#%s",
            order.get("job_id"),
            order.get("attempt"),
            order.get("repository"),
            order.get("issue_number"),
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "runner.session_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=session_env(environ),
        )
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write((json.dumps(order) + "\n").encode())
        process.stdin.flush()
        del order  # its secrets live in the session process from now on
        inbox: queue.Queue[object] = queue.Queue()
        threading.Thread(target=_read_events, args=(process.stdout, inbox), daemon=True).start()
        reporter = Reporter(http, order_id, events_token)
        return _relay(process, inbox, reporter, every)


def _relay(
    process: subprocess.Popen[bytes], inbox: queue.Queue[object], reporter: Reporter, every: float
) -> int:
    assert process.stdin is not None
    pending: list[Any] = []
    eof = False
    next_report = time.monotonic()
    while True:
        urgent = False
        try:
            item = inbox.get(timeout=max(min(next_report - time.monotonic(), 1.0), 0.0))
            if item is None:
                eof = True
            else:
                pending.append(item)
                urgent = isinstance(item, dict) and item.get("type") in URGENT
        except queue.Empty:
            pass
        code = process.poll() if eof else None
        if code is None and eof:
            code = process.wait()
        if not (urgent or eof or time.monotonic() >= next_report):
            continue
        controls = reporter.send(pending, exit_code=code)
        next_report = time.monotonic() + every
        if controls is None:
            if code is not None:
                time.sleep(1)
            continue
        pending = []
        if code is not None:
            return code
        if reporter.refused:
            log.warning("the App ended this attempt; stopping the session")
            process.send_signal(signal.SIGTERM)
            try:
                return process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                return process.wait()
        for control in controls:
            try:
                process.stdin.write((json.dumps(control) + "\n").encode())
                process.stdin.flush()
            except (BrokenPipeError, OSError):
                pass


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        return run(os.environ)
    except RunError as error:
        log.error("%s", error)
        return 1


if __name__ == "__main__":
    sys.exit(main())
