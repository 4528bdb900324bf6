"""End to end: three `autocoder serve` replicas on one PostgreSQL database behind one webhook
sender. Labelled issues across many repositories and installations become one session each;
killing a replica midway (SIGKILL to it and its sessions) loses nothing and duplicates nothing:
its deliveries and jobs are taken over by the others.

Sessions are one-turn scripts of the openai engine (the cheapest real session: workspace,
check run, comment, one model call). Size: issue #16's, 200 issues across 20 repositories in 5
installations (on a quiet 2-core machine about 230 s: ~1 s of wall time per session with 6
session slots; 450 s under heavy load). `AUTOCODER_TEST_REPLICA_ISSUES=60` runs a smaller one."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db.engine import open_database
from app.db.models import Delivery, SessionRecord
from app.queue.models import Job
from tests.app.replica_harness import kill_machine, stop, webhook_sender
from tests.app.serve_harness import start_serve
from tests.app.webhook_harness import wait_for
from tests.emulator.client import Emulator
from tests.scripted_model.server import running_model_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ISSUES = int(os.environ.get("AUTOCODER_TEST_REPLICA_ISSUES", "200"))
REPOSITORIES = 20
ORGANISATIONS = 5  # one installation each
REPLICAS = 3
MAINTAINER = "mona"


def _repositories() -> list[str]:
    return [f"org{n % ORGANISATIONS}/repo{n}" for n in range(REPOSITORIES)]


def test_replicas_share_deliveries_and_jobs_and_survive_a_killed_replica(
    github_emulator: Emulator, postgres_url: str, tmp_path: Path
) -> None:
    emulator = github_emulator
    app = emulator.register_app("autocoder")
    repositories = _repositories()
    for name in repositories:
        emulator.create_repo(name, {"README.md": "# hello\n"}, owner_type="Organization")
    for org in range(ORGANISATIONS):
        mine = [name for name in repositories if name.startswith(f"org{org}/")]
        emulator.install(app.id, mine, account=f"org{org}")
    emulator.add_user(MAINTAINER, repos=dict.fromkeys(repositories, "write"), token=True)
    maintainer = emulator.act_as(MAINTAINER)

    with running_model_server("openai", []) as model:  # every request: one final text turn

        def env(index: int) -> dict[str, str]:
            keep = ("AUTOCODER_", "ANTHROPIC_", "CLAUDE_CODE_", "OPENAI_")
            return {
                **{k: v for k, v in os.environ.items() if not k.startswith(keep)},
                "AUTOCODER_GITHUB_API_URL": emulator.api_url,
                "AUTOCODER_GITHUB_APP_ID": str(app.id),
                "AUTOCODER_GITHUB_PRIVATE_KEY": app.private_key,
                "AUTOCODER_WEBHOOK_SECRET": app.webhook_secret,
                "AUTOCODER_CACHE_DIR": str(tmp_path / f"cache{index}"),
                "AUTOCODER_ENGINE": "openai",
                "AUTOCODER_BASE_URL": model.base_url,
                "AUTOCODER_MODEL": "scripted",
                "AUTOCODER_API_KEY": "sk-model-key-for-tests",
                "AUTOCODER_MAX_TURNS": "3",
                "AUTOCODER_DATABASE_URL": postgres_url,
                "AUTOCODER_RECONCILE_INTERVAL": "0",
                "AUTOCODER_POLL_SECONDS": "0.3",
                "AUTOCODER_CONCURRENCY": "2",
                "AUTOCODER_LEASE_SECONDS": "6",
                "AUTOCODER_GITHUB_SECONDS_BETWEEN_WRITES": "0",
                "AUTOCODER_SESSION_LOG_DIR": str(tmp_path / f"logs{index}"),
                "HOME": str(tmp_path / f"home{index}"),
            }

        replicas = [start_serve(env(i), tmp_path / f"serve{i}.log") for i in range(REPLICAS)]
        database = open_database(postgres_url, run_migrations=False)
        try:
            with webhook_sender([url for _, url in replicas]) as (front, answers):
                emulator.set_webhook_url(app.id, f"{front}/api/github/webhooks")
                started = time.monotonic()
                issues: list[tuple[str, int]] = []
                for n in range(ISSUES):
                    repository = repositories[n % REPOSITORIES]
                    number = maintainer.open_issue(repository, f"Task {n}", "Say hello.")["number"]
                    maintainer.label_issue(repository, int(number), "autocoder")
                    issues.append((repository, int(number)))

                def count(*states: str) -> int:
                    with database.sessions() as db:
                        query = select(func.count()).select_from(Job)
                        return int(db.scalar(query.where(Job.state.in_(states))) or 0)

                # Midway: a third of the sessions done, others running, many queued.
                wait_for(lambda: count("succeeded") >= ISSUES // 3, 400, "a third of the jobs")
                victim, _ = replicas[0]
                kill_machine(victim)
                killed_at = count("succeeded")

                wait_for(lambda: count("succeeded") == ISSUES, 700, "every job to succeed")
                elapsed = time.monotonic() - started
                emulator.wait_for_deliveries()
        finally:
            for process, _ in replicas:
                stop(process)

        with database.sessions() as db:
            jobs = db.scalars(select(Job)).all()
            sessions = db.scalars(select(SessionRecord)).all()
            deliveries = db.scalars(select(Delivery)).all()
        database.dispose()

    per_issue = Counter((job.repository, job.issue_number) for job in jobs)
    assert sorted(per_issue) == sorted(issues), "one job for every labelled issue"
    assert set(per_issue.values()) == {1}, "and no issue got a second job"
    assert {job.state for job in jobs} == {"succeeded"}
    finished = Counter((s.repository, s.issue_number) for s in sessions if s.conclusion is not None)
    twice = [
        (s.repository, s.issue_number, s.job_id, s.conclusion, s.error)
        for s in sessions
        if s.conclusion is not None and finished[(s.repository, s.issue_number)] > 1
    ]
    assert sorted(finished) == sorted(issues) and not twice, (
        f"each issue's session ran to its end exactly once; more than once: {twice}"
    )
    labelled = [d for d in emulator.deliveries() if (d.event, d.action) == ("issues", "labeled")]
    assert len(labelled) == ISSUES and {d.status_code for d in labelled} <= {200, 202}
    assert len({d.delivery_id for d in deliveries}) == len(deliveries)
    assert all(code < 500 for code in answers), Counter(answers)
    print(
        f"{ISSUES} sessions on {REPLICAS} replicas in {elapsed:.0f} s; "
        f"replica 0 killed after {killed_at} had succeeded"
    )
