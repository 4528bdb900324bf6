"""`autocoder worker`: run sessions from the shared queue, without taking webhooks.

Beside one or more `autocoder serve` replicas on the same `AUTOCODER_DATABASE_URL` (PostgreSQL
for replicas on several machines), a worker claims queued jobs (`FOR UPDATE SKIP LOCKED`, fair
share between installations), runs their sessions through the configured executor with
`AUTOCODER_CONCURRENCY` worker threads, heartbeats their leases and takes over jobs whose
server died — exactly as the workers inside `autocoder serve`, with the same settings read the
same way (environment and `.env`, validated once). SIGTERM or Ctrl-C stops claiming and gives
running sessions back to the queue.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import FrameType

import click

from autocoder.commands.options import env_file_option
from autocoder.commands.serve_config import load_serve_config

log = logging.getLogger("autocoder.worker")


@click.command("worker")
@env_file_option
@click.option(
    "--stop-timeout",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="Seconds to wait for running sessions to stop when asked to stop.",
)
def worker_command(env_file: Path, stop_timeout: float) -> None:
    """Run queued sessions from AUTOCODER_DATABASE_URL; take no webhooks.

    Start as many as you like beside `autocoder serve` (which takes the webhooks and queues
    the jobs); every session runs once. Settings as for `autocoder serve`.
    """
    import threading

    from app.main import build_state
    from app.worker import start_workers
    from app.worker.engine_gate import EngineGate
    from runner.preflight import engine_problem

    config = load_serve_config(env_file, log)
    try:
        state = build_state(config.app)
    except Exception as error:  # the database could not be opened or migrated
        raise click.ClickException(f"cannot start: {type(error).__name__}: {error}") from None
    gate = EngineGate(lambda: engine_problem(config.runner, config.environ))
    problem = gate.problem()
    if problem is not None:
        log.warning("no session can run: %s (labelled issues get one comment saying so)", problem)

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping (running sessions go back to the queue)", signal.strsignal(signum))
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pool = start_workers(
        config,
        state.database.sessions,
        threading.Event(),
        engine_gate=gate,
        github=state.github,
        metrics=state.metrics,
    )
    log.info("worker started: %d session(s) at a time", config.app.concurrency)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        pool.stop(stop_timeout)
        if state.github is not None:
            state.github.close()
        state.database.dispose()
    log.info("worker stopped")
