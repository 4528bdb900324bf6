"""Prometheus metrics of one App instance, in its own registry (never the process-wide default,
so several apps in one process, as in tests, do not collide).

Counted as they happen: webhook deliveries by event and outcome, acknowledgement latency, GitHub
API calls by method and status (every call goes through `runner.github.http.GitHubHTTP`, whose
request hook is `github_request_hook`), GitHub REST calls per session, and the rate limit GitHub
last reported. Read from the database
at scrape time: jobs by state, issues by agent status, and the durations of finished sessions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Feature, SessionRecord
from runner.events import Result
from runner.github.types import RequestRecord

_log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SESSION_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled", "superseded")


class Metrics:
    def __init__(self, sessions: sessionmaker[Session] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "autocoder_webhook_deliveries",
            "Webhook deliveries received, by event and outcome.",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "autocoder_webhook_ack_seconds",
            "Time from a delivery's arrival to its acknowledgement.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.github_requests = Counter(
            "autocoder_github_api_requests",
            "HTTP requests to the GitHub API, by method and status.",
            ["method", "status"],
            registry=self.registry,
        )
        self.rate_limit_remaining = Gauge(
            "autocoder_github_rate_limit_remaining",
            "The rate limit GitHub reported remaining in its last answer.",
            registry=self.registry,
        )
        self.session_github_requests = Histogram(
            "autocoder_session_github_requests",
            "GitHub REST calls per session (SessionResult.github_requests; issue #11 aims at 12 "
            "or fewer for a short session).",
            buckets=(4, 8, 12, 16, 24, 32, 48, 64, 96, 128),
            registry=self.registry,
        )
        self.reconciles = Counter(
            "autocoder_reconciles",
            "Repository reconciles, by result (not_modified, changed, failed).",
            ["result"],
            registry=self.registry,
        )
        if sessions is not None:
            self.registry.register(DatabaseCollector(sessions))

    def github_request_hook(self, record: RequestRecord) -> None:
        """The `request_hook` of every GitHub boundary client (GitHubClient, GitHubREST, App
        credentials minting tokens)."""
        self.github_requests.labels(record.method.upper(), str(record.status)).inc()
        if record.rate_limit_remaining is not None:
            self.rate_limit_remaining.set(record.rate_limit_remaining)

    def observe_session(self, github_requests: int) -> None:
        """Record one finished session's GitHub REST calls (from its result)."""
        self.session_github_requests.observe(github_requests)

    def observe_result(self, result: Result) -> None:
        """A session's `Result` event, as the worker received it."""
        self.observe_session(result.github_requests)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DatabaseCollector(Collector):
    """Figures read from the database at scrape time (they survive restarts and are shared by
    replicas)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def describe(self) -> Iterable[Metric]:
        return [
            GaugeMetricFamily("autocoder_jobs", "Jobs by state.", labels=["state"]),
            GaugeMetricFamily("autocoder_features", "Issues by agent status.", labels=["status"]),
            HistogramMetricFamily(
                "autocoder_session_duration_seconds", "Durations of finished sessions."
            ),
        ]

    def collect(self) -> Iterator[Metric]:
        try:
            with self._sessions() as db:
                jobs = _job_counts(db)
                features: dict[str, int] = {}
                for status, count in db.execute(
                    select(Feature.agent_status, func.count()).group_by(Feature.agent_status)
                ).all():
                    features[str(status)] = int(count)
                durations = []
                for started, finished in db.execute(
                    select(SessionRecord.started_at, SessionRecord.finished_at).where(
                        SessionRecord.finished_at.is_not(None)
                    )
                ).all():
                    if finished is not None:
                        durations.append((finished - started).total_seconds())
        except Exception:
            _log.exception("reading metrics from the database failed")
            return
        job_family = GaugeMetricFamily("autocoder_jobs", "Jobs by state.", labels=["state"])
        for state in sorted(set(JOB_STATES) | set(jobs)):
            job_family.add_metric([state], jobs.get(state, 0))
        yield job_family
        feature_family = GaugeMetricFamily(
            "autocoder_features", "Issues by agent status.", labels=["status"]
        )
        for status, count in sorted(features.items()):
            feature_family.add_metric([str(status)], int(count))
        yield feature_family
        yield _histogram(durations)


def _job_counts(db: Session) -> dict[str, int]:
    from app.queue.store import count_by_state

    return count_by_state(db)


def _histogram(values: list[float]) -> HistogramMetricFamily:
    buckets: list[tuple[str, float]] = []
    for bound in SESSION_BUCKETS:
        buckets.append((repr(bound), float(sum(1 for v in values if v <= bound))))
    buckets.append(("+Inf", float(len(values))))
    return HistogramMetricFamily(
        "autocoder_session_duration_seconds",
        "Durations of finished sessions.",
        buckets=buckets,
        sum_value=sum(values),
    )
