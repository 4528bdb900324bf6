"""Sustained signed webhook deliveries per second, and acknowledgement latency, for
`autocoder serve` on loopback with SQLite.

    python -m bench.webhooks [--seconds 20] [--concurrency 32]

Starts `autocoder serve` as a real process (a temp SQLite file, a webhook secret, no App
credentials: these deliveries are decided without GitHub — mirrored or ignored — so no GitHub is
needed) on 127.0.0.1, then `--concurrency` senders post signed deliveries for `--seconds`: a mix
of GitHub's own example payloads (issues.edited, issue_comment.created, issues.opened,
check_run.completed, ...) from tests/samples/webhooks, each with a fresh `X-GitHub-Delivery`.
Prints deliveries per second, p50/p99/max latency of the acknowledgement and the status codes,
then stops the server. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "samples" / "webhooks"
MIX = (
    "issues.edited",
    "issue_comment.created",
    "issues.opened",
    "issue_comment.edited",
    "check_run.completed",
    "issues.edited",
    "issue_comment.created",
)
SECRET = "bench-webhook-secret"  # noqa: S105 - a throwaway secret for the benchmark


def load_payloads() -> list[tuple[str, bytes]]:
    found = []
    for prefix in MIX:
        for path in sorted(SAMPLES.glob(f"{prefix}*.json")):
            event = prefix.split(".", 1)[0]
            found.append((event, json.dumps(json.loads(path.read_text())).encode()))
    if not found:
        raise SystemExit(f"no example payloads under {SAMPLES}")
    return found


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(directory: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AUTOCODER_") and name != "GITHUB_TOKEN"
    }
    env |= {
        "AUTOCODER_DATABASE_URL": f"sqlite:///{directory / 'autocoder.db'}",
        "AUTOCODER_WEBHOOK_SECRET": SECRET,
        "AUTOCODER_RECONCILE_INTERVAL": "0",
        "AUTOCODER_SESSION_LOG_DIR": str(directory / "sessions"),
    }
    log = (directory / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "autocoder", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        env=env,
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"autocoder serve exited:\n{(directory / 'serve.log').read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(process)
    raise SystemExit("autocoder serve did not answer /healthz within 60 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def send_for(
    url: str, payloads: list[tuple[str, bytes]], seconds: float, concurrency: int
) -> tuple[list[float], Counter[int | str], float]:
    latencies: list[float] = []
    statuses: Counter[int | str] = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        start = time.perf_counter()
        stop_at = start + seconds

        async def sender(index: int) -> None:
            n = index
            while time.perf_counter() < stop_at:
                event, body = payloads[n % len(payloads)]
                n += concurrency
                headers = {
                    "Content-Type": "application/json",
                    "X-GitHub-Event": event,
                    "X-GitHub-Delivery": str(uuid.uuid4()),
                    "X-Hub-Signature-256": sign(body),
                    "User-Agent": "GitHub-Hookshot/bench",
                }
                sent = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    statuses[response.status_code] += 1
                except httpx.HTTPError as error:
                    statuses[type(error).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(sender(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - start
    return latencies, statuses, elapsed


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    payloads = load_payloads()
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        port = free_port()
        server = start_server(Path(tmp), port)
        try:
            url = f"http://127.0.0.1:{port}/api/github/webhooks"
            asyncio.run(send_for(url, payloads, 1.0, 4))  # warm up
            latencies, statuses, elapsed = asyncio.run(
                send_for(url, payloads, args.seconds, args.concurrency)
            )
        finally:
            stop_server(server)
    acknowledged = sum(
        count for code, count in statuses.items() if isinstance(code, int) and code < 300
    )
    senders = f"{args.concurrency} concurrent senders"
    print(f"autocoder serve on 127.0.0.1, SQLite, {senders}, {elapsed:.1f} s")
    print(f"payloads: {len(payloads)} GitHub examples ({', '.join(sorted(set(MIX)))})")
    print(f"deliveries: {len(latencies)} answered, {acknowledged} acknowledged (2xx)")
    print(f"status codes: {dict(sorted(statuses.items(), key=str))}")
    print(f"sustained: {acknowledged / elapsed:.0f} deliveries/s")
    if latencies:
        print(
            f"acknowledgement latency: p50 {percentile(latencies, 0.50) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
            f"max {max(latencies) * 1000:.1f} ms, mean {statistics.mean(latencies) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
