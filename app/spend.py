"""What sessions spent, from the database, and the budgets a new attempt starts with.

Spend is recorded per attempt on its session row (`sessions`: cost, input and output tokens),
live from the session's `Spend` events and finally from its `Result` (`app.worker.attempt`,
`app.worker.outcome`). So the caps hold across server restarts and across workers sharing the
database: at claim time the worker sums the rows of the issue, of the repository since the
start of the UTC day and of the installation since the start of the UTC month
(`budgets_for`), and puts the budgets in the work order. A job whose budget is already spent
starts no session (`app.worker.pool`), and the issue is told once per cap and period
(`refusal_comment`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import SessionRecord
from app.queue.models import Job
from runner.spend import Cap, CapScope, ScopeBudget

MARKER_PREFIX = "<!-- autocoder:spend-cap"


def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


def spent(
    db: Session,
    *,
    repository: str | None = None,
    issue_number: int | None = None,
    installation_id: int | None = None,
    since: datetime | None = None,
) -> tuple[float, int]:
    """(USD, tokens) spent by the sessions that match every given filter."""
    query = select(
        func.coalesce(func.sum(SessionRecord.cost_usd), 0.0),
        func.coalesce(func.sum(SessionRecord.input_tokens + SessionRecord.output_tokens), 0),
    )
    if installation_id is not None:
        query = query.join(Job, Job.id == SessionRecord.job_id).where(
            Job.installation_id == installation_id
        )
    if repository is not None:
        query = query.where(SessionRecord.repository == repository)
    if issue_number is not None:
        query = query.where(SessionRecord.issue_number == issue_number)
    if since is not None:
        query = query.where(SessionRecord.started_at >= since)
    usd, tokens = db.execute(query).one()
    return float(usd or 0.0), int(tokens or 0)


def budgets_for(
    db: Session, job: Job, caps: Mapping[CapScope, Cap], now: datetime
) -> tuple[ScopeBudget, ...]:
    """One budget per capped scope of `job`: its cap and what earlier sessions spent."""
    budgets = []
    for scope, cap in caps.items():
        if scope is CapScope.ISSUE:
            usd, tokens = spent(db, repository=job.repository, issue_number=job.issue_number)
        elif scope is CapScope.REPOSITORY_DAY:
            usd, tokens = spent(db, repository=job.repository, since=day_start(now))
        elif scope is CapScope.INSTALLATION_MONTH:
            if job.installation_id is None:
                continue
            usd, tokens = spent(db, installation_id=job.installation_id, since=month_start(now))
        else:
            continue
        budgets.append(ScopeBudget(scope=scope, cap=cap, spent_usd=usd, spent_tokens=tokens))
    return tuple(budgets)


def period(scope: CapScope, now: datetime) -> str:
    """The period a cap counts over, as the marker names it."""
    if scope is CapScope.REPOSITORY_DAY:
        return day_start(now).strftime("%Y-%m-%d")
    if scope is CapScope.INSTALLATION_MONTH:
        return month_start(now).strftime("%Y-%m")
    return "all"


def refusal_comment(budget: ScopeBudget, kind: str, now: datetime) -> tuple[str, str]:
    """(marker, body) of the one comment an issue gets when a cap stops a job from starting,
    per cap and period (the next day's refusal is said again)."""
    marker = f"{MARKER_PREFIX} {budget.scope.value} {period(budget.scope, now)} -->"
    what = budget.describe(kind)
    until = {
        CapScope.REPOSITORY_DAY: "It resets at midnight UTC.",
        CapScope.INSTALLATION_MONTH: "It resets at the start of the next month (UTC).",
    }.get(budget.scope, "")
    body = (
        f"{marker}\n"
        f"💸 **autocoder did not start a session**: the {what}. {until}\n\n"
        "Whoever runs this autocoder server can raise the cap (`AUTOCODER_MAX_COST_USD_PER_*` / "
        "`AUTOCODER_MAX_TOKENS_PER_*`); then remove and add the trigger label again to start."
    ).replace("  ", " ")
    return marker, body
