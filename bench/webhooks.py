"""Signed webhook deliveries per second and acknowledgement latency: Probot, then
`autocoder serve`, under the same load, with the same signed payload, on loopback.

    python -m bench.webhooks [--seconds 15] [--threads 2] [--connections 32] [--rounds 1]

The payload is GitHub's `issues.labeled` example (octokit's, 12 KB compact), signed with one
secret; every request carries a fresh `X-GitHub-Delivery`. Load: `wrk` (Debian's package:
`apt-get install -y wrk`), `--threads` threads and `--connections` connections for `--seconds`,
after a short warm-up; without wrk, a Python load generator (httpx) stands in.

- Probot: the `probot` npm package, installed by this bench into a cache directory
  (`$XDG_CACHE_HOME/autocoder/bench-probot`, needs node and npm), running a minimal app that
  verifies each delivery and answers it (bench/probot_server.mjs); it stores nothing.
- autocoder: `autocoder serve --processes 2` (one per core here; `--processes 1` for a single
  process) as a real process with a temp SQLite file and no App credentials
  (a label that is not the trigger label: decided without GitHub, recorded and mirrored). After
  the run the bench counts the deliveries in its database against the 2xx answers.

Prints both throughputs, both p50/p99, the ratio and the non-2xx counts. Loopback only.

`--rounds N` runs Probot then autocoder N times over (fresh servers and database each round) and
ends with the medians: on a shared machine both servers' figures drift by a quarter from one
minute to the next, so one round's ratio is partly the host's; the rounds, alternating, see
the same drift.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "samples" / "webhooks" / "issues.labeled.1.json"
PROBOT_APP = Path(__file__).resolve().parent / "probot_server.mjs"
PROBOT_VERSION = "14.3.2"
SECRET = "bench-webhook-secret"  # noqa: S105 - a throwaway secret for the benchmark
PATH = "/api/github/webhooks"


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    stored: int | None = None

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def payload() -> bytes:
    return json.dumps(json.loads(SAMPLE.read_text()), separators=(",", ":")).encode()


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(port: int, alive: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not alive():
            raise SystemExit(f"{what} exited before answering")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer /healthz within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# -- the servers --------------------------------------------------------------------------------


def probot_dir() -> Path:
    """The cache directory holding the `probot` npm package (installed on first use)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    directory = cache / "autocoder" / "bench-probot"
    if not (directory / "node_modules" / "probot" / "package.json").is_file():
        if shutil.which("npm") is None:
            raise SystemExit("Probot needs node and npm (apt-get install -y nodejs npm)")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "package.json").write_text('{"name": "bench-probot", "private": true}\n')
        print(f"installing probot@{PROBOT_VERSION} into {directory} ...", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
             f"probot@{PROBOT_VERSION}"],
            cwd=directory,
            check=True,
        )  # fmt: skip
    shutil.copy(PROBOT_APP, directory / PROBOT_APP.name)
    return directory


def start_probot(directory: Path, work: Path, port: int) -> subprocess.Popen[bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = work / "probot-key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    log = (work / "probot.log").open("wb")
    process = subprocess.Popen(
        ["node", PROBOT_APP.name, str(port), SECRET, str(key_file)],
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_healthy(port, lambda: process.poll() is None, "Probot")
    return process


def start_autocoder(work: Path, port: int, processes: int) -> subprocess.Popen[bytes]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AUTOCODER_") and name != "GITHUB_TOKEN"
    }
    env |= {
        "AUTOCODER_DATABASE_URL": f"sqlite:///{work / 'autocoder.db'}",
        "AUTOCODER_WEBHOOK_SECRET": SECRET,
        "AUTOCODER_RECONCILE_INTERVAL": "0",
        "AUTOCODER_SESSION_LOG_DIR": str(work / "sessions"),
    }
    log = (work / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "autocoder", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--env-file", str(work / "no.env"),
         "--processes", str(processes)],
        env=env,
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    wait_healthy(port, lambda: process.poll() is None, "autocoder serve")
    return process


def stored_deliveries(work: Path) -> int:
    connection = sqlite3.connect(work / "autocoder.db", timeout=30)
    try:
        return int(connection.execute("SELECT count(*) FROM deliveries").fetchone()[0])
    finally:
        connection.close()


# -- the load -----------------------------------------------------------------------------------

_LUA = """
local body = %(body)s
local signature = "%(signature)s"
local threads = 0
local counter = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  prefix = args[1] .. "-" .. tostring(tid) .. "-"
end
function request()
  counter = counter + 1
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "issues",
    ["X-GitHub-Delivery"] = prefix .. counter,
    ["X-Hub-Signature-256"] = signature,
    ["User-Agent"] = "GitHub-Hookshot/bench",
  }, body)
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(
    name: str,
    port: int,
    body: bytes,
    work: Path,
    seconds: float,
    threads: int,
    connections: int,
    warmed: Callable[[], None] = lambda: None,
) -> Result:
    script = work / f"{name}.lua"
    script.write_text(
        _LUA
        % {
            "body": json.dumps(body.decode()),
            "signature": sign(body),
            "path": PATH,
        }
    )
    url = f"http://127.0.0.1:{port}"
    warm = ["wrk", "-t1", "-c4", "-d2s", "-s", str(script), url, "--", "warm-up"]
    subprocess.run(warm, check=True, capture_output=True)
    warmed()
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
               "-s", str(script), url, "--", uuid.uuid4().hex[:12]]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    (work / f"{name}.wrk.txt").write_text(out)
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if done is None:
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    elapsed = _ms(done.group(2) + done.group(3)) / 1000
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Result(
        name,
        int(done.group(1)) - (int(non_2xx.group(1)) if non_2xx else 0),
        elapsed,
        _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        int(non_2xx.group(1)) if non_2xx else 0,
        sum(int(n) for n in errors.groups()) if errors else 0,
    )


def run_python_load(name: str, port: int, body: bytes, seconds: float, connections: int) -> Result:
    """The stand-in for wrk: `connections` asyncio senders on httpx."""

    async def load() -> tuple[list[float], Counter[int | str], float]:
        latencies: list[float] = []
        statuses: Counter[int | str] = Counter()
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            start = time.perf_counter()

            async def sender() -> None:
                while time.perf_counter() < start + seconds:
                    headers = {
                        "Content-Type": "application/json",
                        "X-GitHub-Event": "issues",
                        "X-GitHub-Delivery": str(uuid.uuid4()),
                        "X-Hub-Signature-256": sign(body),
                    }
                    sent = time.perf_counter()
                    try:
                        response = await client.post(
                            f"http://127.0.0.1:{port}{PATH}", content=body, headers=headers
                        )
                    except httpx.HTTPError as error:
                        statuses[type(error).__name__] += 1
                        continue
                    statuses[response.status_code] += 1
                    latencies.append(time.perf_counter() - sent)

            await asyncio.gather(*(sender() for _ in range(connections)))
            return latencies, statuses, time.perf_counter() - start

    latencies, statuses, elapsed = asyncio.run(load())
    ordered = sorted(latencies) or [0.0]
    ok = sum(n for code, n in statuses.items() if isinstance(code, int) and 200 <= code < 300)
    errors = sum(n for code, n in statuses.items() if not isinstance(code, int))
    return Result(
        name,
        ok,
        elapsed,
        ordered[len(ordered) // 2] * 1000,
        ordered[min(int(0.99 * len(ordered)), len(ordered) - 1)] * 1000,
        len(latencies) - ok,
        errors,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", choices=("probot", "autocoder"), help="run one server only")
    parser.add_argument("--rounds", type=int, default=1, help="Probot then autocoder, N times")
    parser.add_argument(
        "--processes", type=int, default=2, help="autocoder serve --processes (default 2)"
    )
    args = parser.parse_args()

    body = payload()
    use_wrk = shutil.which("wrk") is not None
    load = "wrk" if use_wrk else "a Python load generator (install wrk for the real figures)"
    print(
        f"{len(body)} bytes signed issues.labeled, {args.connections} connections, "
        f"{args.seconds:g} s each, load by {load}; autocoder serve --processes {args.processes}",
        flush=True,
    )

    def measure(name: str, port: int, work: Path, warmed: Callable[[], None]) -> Result:
        if use_wrk:
            return run_wrk(
                name, port, body, work, args.seconds, args.threads, args.connections, warmed
            )
        warmed()
        return run_python_load(name, port, body, args.seconds, args.connections)

    def one_round(work: Path) -> list[Result]:
        results: list[Result] = []
        if args.only in (None, "probot"):
            port = free_port()
            server = start_probot(probot_dir(), work, port)
            try:
                results.append(measure("probot", port, work, lambda: None))
            finally:
                stop(server)
        if args.only in (None, "autocoder"):
            port = free_port()
            server = start_autocoder(work, port, args.processes)
            before = [0]
            try:
                result = measure(
                    "autocoder", port, work, lambda: before.__setitem__(0, stored_deliveries(work))
                )
            finally:
                stop(server)
            result.stored = stored_deliveries(work) - before[0]
            results.append(result)
        return results

    rounds: list[list[Result]] = []
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        for number in range(1, args.rounds + 1):
            work = Path(tmp) / f"round-{number}"
            work.mkdir()
            if args.rounds > 1:
                print(f"round {number} of {args.rounds}", flush=True)
            rounds.append(one_round(work))
            report(rounds[-1])
    if args.rounds > 1:
        summarize(rounds)


def report(results: list[Result]) -> None:
    for r in results:
        stored = "" if r.stored is None else f", {r.stored} new deliveries in its database"
        print(
            f"{r.name:>9}: {r.per_second:7.0f} deliveries/s, p50 {r.p50_ms:6.1f} ms, "
            f"p99 {r.p99_ms:6.1f} ms, non-2xx {r.non_2xx}, socket errors {r.socket_errors}"
            f"{stored}",
            flush=True,
        )
    if len(results) == 2 and results[0].per_second:
        ratio = results[1].per_second / results[0].per_second
        print(f"    ratio: autocoder/probot = {ratio:.2f}x deliveries/s", flush=True)


def summarize(rounds: list[list[Result]]) -> None:
    print(f"medians of {len(rounds)} rounds")
    for index, name in enumerate(r.name for r in rounds[0]):
        each = [results[index] for results in rounds]
        print(
            f"{name:>9}: {statistics.median(r.per_second for r in each):7.0f} deliveries/s, "
            f"p99 {statistics.median(r.p99_ms for r in each):6.1f} ms, "
            f"non-2xx {sum(r.non_2xx for r in each)} in all"
        )
    ratios = [r[1].per_second / r[0].per_second for r in rounds if len(r) == 2 and r[0].per_second]
    if ratios:
        low, high = min(ratios), max(ratios)
        print(
            f"    ratio: autocoder/probot = {statistics.median(ratios):.2f}x "
            f"(rounds {low:.2f}x-{high:.2f}x)"
        )


if __name__ == "__main__":
    main()
