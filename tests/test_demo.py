"""`python -m tests.demo`, run as a newcomer would from a clone: a real subprocess that starts the
emulator, a scripted model and `autocoder serve`, and prints the pull request and the check run's
conclusion. Non-interactive in CI; interactive on a terminal until Ctrl-C."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.demo.__main__ import interactive

ROOT = Path(__file__).resolve().parents[1]
PULL_URL = re.compile(
    r"Pull request #\d+ \(draft\) opened: (http://127\.0\.0\.1:\d+/octo/hello/pull/\d+)"
)
RUN_URL = re.compile(r"(http://127\.0\.0\.1:\d+/octo/hello/runs/\d+)")
SERVE_URL = re.compile(r"autocoder serve  (http://127\.0\.0\.1:\d+)")


def demo_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return env | extra


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["openai", "claude"])
def test_demo_in_ci_prints_the_pull_request_and_a_successful_check_run(engine: str) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tests.demo", "--engine", engine],
        cwd=ROOT,
        env=demo_env(CI="true"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=280,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    [pull_url] = PULL_URL.findall(out)
    assert "+def farewell(name: str) -> str:" in out  # the diff
    assert "Check run 'autocoder' completed: success — Draft pull request opened" in out
    assert "**autocoder**: ✅ done" in out  # the issue comment's last edit
    assert out.rstrip().endswith(f"Done: pull request {pull_url}, check run success")
    assert "__pycache__" not in out
    assert time.monotonic() - started < 120


def test_the_demo_stays_up_only_for_a_person_at_a_terminal() -> None:
    assert interactive(once=False, stdin_is_tty=True, environ={})
    assert interactive(once=False, stdin_is_tty=True, environ={"CI": "false"})
    assert not interactive(once=True, stdin_is_tty=True, environ={})
    assert not interactive(once=False, stdin_is_tty=False, environ={})
    assert not interactive(once=False, stdin_is_tty=True, environ={"CI": "true"})
    assert not interactive(once=False, stdin_is_tty=True, environ={"CI": "1"})


@pytest.mark.slow
def test_interactive_demo_serves_its_links_until_ctrl_c_stops_everything() -> None:
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.demo", "--engine", "openai"],
        cwd=ROOT,
        env=demo_env(),
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    os.close(secondary)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while not any("Press Ctrl-C" in line for line in lines):
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        out = "".join(lines)
        [pull_url] = PULL_URL.findall(out)
        # The newest check run (the one on the pull request's head) carries the session's
        # summary; the one it moved from says where it continued.
        run_url = max(RUN_URL.findall(out), key=lambda url: int(url.rsplit("/", 1)[1]))
        [serve_url] = SERVE_URL.findall(out)
        time.sleep(1)
        assert process.poll() is None  # still up for the person reading
        pull_page = httpx.get(pull_url)
        assert pull_page.status_code == 200 and "farewell.py" in pull_page.text
        assert "Draft pull request opened" in httpx.get(run_url).text

        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0, "".join(lines)
        reader.join(10)
        assert "Stopped: autocoder serve, the scripted model and the emulator." in "".join(lines)
        for url in (pull_url, f"{serve_url}/healthz"):
            with pytest.raises(httpx.ConnectError):
                httpx.get(url, timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        os.close(primary)


@pytest.mark.slow
def test_demo_exits_non_zero_when_the_session_fails(tmp_path: Path) -> None:
    script = tmp_path / "refused.json"
    script.write_text('{"turns": [{"text": "never", "fault": {"status": 401, "times": 5}}]}')
    done = subprocess.run(
        [sys.executable, "-m", "tests.demo", "--engine", "openai", "--script", str(script)],
        cwd=ROOT,
        env=demo_env(CI="true"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Check run 'autocoder' completed: failure" in done.stdout
    assert "**autocoder**: ❌ failed" in done.stdout
    assert "Finished without success: pull request (none), check run failure" in done.stdout
