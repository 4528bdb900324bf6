"""What the issue #14 end-to-end tests share: `autocoder serve` against the emulator and a
scripted OpenAI-compatible model, with short checkpoint, heartbeat and quota settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from app.db.engine import open_database
from app.queue import store
from app.queue.models import Job
from tests.app.webhook_harness import free_port
from tests.emulator.client import Emulator
from tests.scripted_model.recorder import RecordedRequest
from tests.world import REPO, World


def serve_env(
    world: World, emulator: Emulator, tmp_path: Path, model_url: str, **extra: str
) -> tuple[dict[str, str], int, str]:
    """The environment of `autocoder serve`, its port and its database URL."""
    port = free_port()
    emulator.set_webhook_url(world.app.id, f"http://127.0.0.1:{port}/api/github/webhooks")
    database_url = f"sqlite:///{tmp_path / 'data' / 'autocoder.db'}"
    env = {
        **os.environ,
        **world.runner_env(
            tmp_path / "cache",
            AUTOCODER_ENGINE="openai",
            AUTOCODER_BASE_URL=model_url,
            AUTOCODER_MODEL="scripted",
            AUTOCODER_API_KEY="sk-model-key-for-tests",
            AUTOCODER_MAX_TURNS="10",
            # Its own: the default (/tmp/autocoder-work/<repo>--issue-<n>) is shared with
            # every other test of the same issue number on this machine.
            AUTOCODER_WORK_DIR=str(tmp_path / "work"),
        ),
        "AUTOCODER_WEBHOOK_SECRET": world.app.webhook_secret,
        "AUTOCODER_DATABASE_URL": database_url,
        "AUTOCODER_RECONCILE_INTERVAL": "0",
        "AUTOCODER_GITHUB_SECONDS_BETWEEN_WRITES": "0",
        "AUTOCODER_LEASE_SECONDS": "5",
        "AUTOCODER_HEARTBEAT_SECONDS": "0.5",
        "AUTOCODER_POLL_SECONDS": "0.2",
        "AUTOCODER_MAX_ATTEMPTS": "1",  # a kill or a pause must not use it up
        **extra,
    }
    return env, port, database_url


def only_job(database_url: str, repository: str, number: int) -> Job:
    database = open_database(database_url, run_migrations=False)
    with database.sessions() as db:
        (job,) = store.jobs_for_issue(db, repository, number)
        db.expunge(job)
    return job


def all_check_runs(world: World) -> list[dict[str, Any]]:
    """Every `autocoder` check run on any commit of main or of autocoder's branches."""
    refs = world.git("for-each-ref", "--format=%(refname)", "refs/heads").split()
    shas = set(world.git("rev-list", *refs).split())
    runs: dict[int, dict[str, Any]] = {}
    for sha in shas:
        found = world.api(f"/repos/{REPO}/commits/{sha}/check-runs?filter=all")["check_runs"]
        for run in found:
            if run["name"] == "autocoder":
                runs[run["id"]] = run
    return list(runs.values())


def terminal_job(database_url: str, job_id: int) -> Job | None:
    """The job once it has ended (None while it has not)."""
    database = open_database(database_url, run_migrations=False)
    try:
        with database.sessions() as db:
            job = store.get_job(db, job_id)
            return job if job is not None and job.state in store.TERMINAL_STATES else None
    finally:
        database.dispose()


def conversation(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    """The model requests of a conversation (a served turn), oldest first."""
    return [r for r in requests if r.role in ("turn", "exhausted")]


def said(request: RecordedRequest) -> str:
    """Everything a request's messages hold, as one text (contents and tool-call arguments)."""
    parts: list[str] = []
    for message in request.body.get("messages", []):
        parts.append(str(message.get("content") or ""))
        for call in message.get("tool_calls") or ():
            parts.append(str((call.get("function") or {}).get("arguments") or ""))
    return "\n".join(parts)


def roles(request: RecordedRequest) -> list[str]:
    return [str(m.get("role")) for m in request.body.get("messages", [])]


def branch_file(world: World, path: str) -> str | None:
    """`path` on autocoder's branch for the issue, as the emulator holds it (None: not there)."""
    refs = world.git("for-each-ref", "--format=%(refname:short)", "refs/heads/autocoder").split()
    if not refs:
        return None
    try:
        return world.git("show", f"{refs[0]}:{path}")
    except Exception:
        return None


def json_list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
