"""Keeping the mirror current: upserts from webhook payloads and REST answers, the registry of
installations and repositories, agent status, and session records.

Plain functions over an open SQLAlchemy `Session`; the caller owns the transaction. The worker
records sessions with `record_session_started` / `record_session_finished`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    AgentStatus,
    Feature,
    Installation,
    Repository,
    SessionRecord,
    utcnow,
)

_MAX_LOG_CHARS = 2_000_000


def parse_time(value: Any) -> datetime | None:
    """GitHub's ISO 8601 timestamps ("2019-05-15T15:20:33Z") as aware UTC datetimes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _label_names(labels: Any) -> list[str]:
    names = []
    for label in labels or []:
        name = label.get("name") if isinstance(label, Mapping) else label
        if isinstance(name, str):
            names.append(name)
    return names


# -- installations and repositories ------------------------------------------------------------


def upsert_installation(db: Session, payload: Mapping[str, Any]) -> Installation | None:
    """An installation from its JSON (`installation` object of a webhook, or GET /app/...)."""
    installation_id = payload.get("id")
    if not isinstance(installation_id, int):
        return None
    row = db.get(Installation, installation_id)
    if row is None:
        row = Installation(id=installation_id, active=True, suspended=False)
        db.add(row)
    account = payload.get("account")
    if isinstance(account, Mapping):
        row.account_login = account.get("login") or row.account_login
        row.account_type = account.get("type") or row.account_type
    if "suspended_at" in payload:
        row.suspended = payload.get("suspended_at") is not None
    return row


def upsert_repository(
    db: Session,
    full_name: str,
    *,
    github_id: int | None = None,
    installation_id: int | None = None,
    private: bool | None = None,
    active: bool | None = True,
) -> Repository:
    row = db.scalar(select(Repository).where(Repository.full_name == full_name))
    if row is None and github_id is not None:
        # Renamed on GitHub: same id, new name.
        row = db.scalar(select(Repository).where(Repository.github_id == github_id))
        if row is not None:
            row.full_name = full_name
    if row is None:
        row = Repository(full_name=full_name, active=True)
        db.add(row)
    if github_id is not None:
        row.github_id = github_id
    if installation_id is not None:
        if db.get(Installation, installation_id) is None:
            db.add(Installation(id=installation_id, active=True, suspended=False))
            db.flush()
        row.installation_id = installation_id
    if private is not None:
        row.private = private
    if active is not None:
        row.active = active
    return row


def upsert_repository_json(
    db: Session, repo: Mapping[str, Any], installation_id: int | None, *, active: bool = True
) -> Repository | None:
    full_name = repo.get("full_name")
    if not isinstance(full_name, str):
        return None
    github_id = repo.get("id")
    private = repo.get("private")
    return upsert_repository(
        db,
        full_name,
        github_id=github_id if isinstance(github_id, int) else None,
        installation_id=installation_id,
        private=private if isinstance(private, bool) else None,
        active=active,
    )


def apply_installation_event(db: Session, event: str, payload: Mapping[str, Any]) -> str:
    """The registry after an `installation` or `installation_repositories` event."""
    action = str(payload.get("action") or "")
    installation_json = payload.get("installation")
    if not isinstance(installation_json, Mapping):
        return "no installation in the payload"
    installation = upsert_installation(db, installation_json)
    if installation is None:
        return "no installation id in the payload"
    db.flush()
    iid = installation.id
    if event == "installation":
        if action == "deleted":
            installation.active = False
            _set_repositories_active(db, iid, False)
            return f"installation {iid} removed"
        if action == "suspend":
            installation.suspended = True
            return f"installation {iid} suspended"
        if action == "unsuspend":
            installation.suspended = False
            return f"installation {iid} unsuspended"
        installation.active = True
        for repo in payload.get("repositories") or []:
            if isinstance(repo, Mapping):
                upsert_repository_json(db, repo, iid)
        return f"installation {iid} {action or 'updated'}"
    added = [r for r in payload.get("repositories_added") or [] if isinstance(r, Mapping)]
    removed = [r for r in payload.get("repositories_removed") or [] if isinstance(r, Mapping)]
    for repo in added:
        upsert_repository_json(db, repo, iid)
    for repo in removed:
        upsert_repository_json(db, repo, iid, active=False)
    return f"installation {iid}: {len(added)} repositories added, {len(removed)} removed"


def _set_repositories_active(db: Session, installation_id: int, active: bool) -> None:
    rows = db.scalars(select(Repository).where(Repository.installation_id == installation_id))
    for row in rows:
        row.active = active


def active_repositories(db: Session) -> list[Repository]:
    query = select(Repository).where(Repository.active.is_(True)).order_by(Repository.full_name)
    return list(db.scalars(query))


# -- issues as features ---------------------------------------------------------------------


def get_feature(db: Session, repository: str, number: int) -> Feature | None:
    return db.scalar(
        select(Feature).where(Feature.repository == repository, Feature.number == number)
    )


def ensure_feature(db: Session, repository: str, number: int) -> Feature:
    row = get_feature(db, repository, number)
    if row is None:
        row = Feature(
            repository=repository,
            number=number,
            title="",
            body="",
            labels=[],
            state="open",
            agent_status=AgentStatus.PENDING.value,
        )
        db.add(row)
        db.flush()
    return row


def upsert_issue(
    db: Session, repository: str, issue: Mapping[str, Any], *, etag: str | None = None
) -> Feature | None:
    """Mirror an issue from its JSON. Pull requests are not features (None). An older copy of
    the issue (an event that arrives late) does not overwrite a newer one."""
    number = issue.get("number")
    if not isinstance(number, int) or issue.get("pull_request"):
        return None
    row = ensure_feature(db, repository, number)
    updated_at = parse_time(issue.get("updated_at"))
    known = row.github_updated_at
    if known is not None and updated_at is not None and updated_at < known:
        return row
    row.title = str(issue.get("title") or "")
    row.body = str(issue.get("body") or "")
    row.labels = _label_names(issue.get("labels"))
    row.state = str(issue.get("state") or row.state)
    user = issue.get("user")
    if isinstance(user, Mapping) and isinstance(user.get("login"), str):
        row.author = user["login"]
    if isinstance(issue.get("html_url"), str):
        row.html_url = issue["html_url"]
    if updated_at is not None:
        row.github_updated_at = updated_at
    if etag is not None:
        row.etag = etag
    return row


def set_agent_status(
    db: Session, repository: str, number: int, status: AgentStatus | str
) -> Feature:
    from app.status import Change, record_status

    row = record_status(db, repository, number, Change.SET, to=status)
    assert row is not None  # made when missing
    return row


def record_refused_trigger(
    db: Session, repository: str, number: int, login: str, through: datetime
) -> Feature:
    """`login` added the trigger label without write access (refused on the webhook path or by
    the reconcile): their label changes up to `through` never start work through the
    reconcile. Only the newest refusal is kept (the reconcile looks at the newest label)."""
    row = ensure_feature(db, repository, number)
    row.trigger_refused_by = login
    row.trigger_refused_through = through
    return row


def trigger_refused(
    refused_by: str | None, through: datetime | None, login: str, labelled_at: datetime | None
) -> bool:
    """Whether the label `login` added at `labelled_at` is one already refused (a feature's
    `trigger_refused_by` / `trigger_refused_through`): the same person, no later than the
    refusal. A label of unknown time by that person counts as refused (fail closed)."""
    if refused_by is None or refused_by.lower() != login.lower():
        return False
    if labelled_at is None or through is None:
        return True
    return labelled_at <= through


def features_of(db: Session, repository: str) -> list[Feature]:
    query = select(Feature).where(Feature.repository == repository).order_by(Feature.number)
    return list(db.scalars(query))


# -- sessions -------------------------------------------------------------------------------


def record_session_started(
    db: Session,
    *,
    repository: str,
    issue_number: int,
    job_id: int | None = None,
    kind: str = "start",
    engine: str | None = None,
    model: str | None = None,
) -> SessionRecord:
    """A session begins (the worker calls this when it starts running a job)."""
    row = SessionRecord(
        job_id=job_id,
        repository=repository,
        issue_number=issue_number,
        kind=kind,
        engine=engine,
        model=model,
        turns=0,
        input_tokens=0,
        output_tokens=0,
        cost_usd=0.0,
        started_at=utcnow(),
        log="",
    )
    db.add(row)
    set_agent_status(db, repository, issue_number, AgentStatus.RUNNING)
    db.flush()
    return row


def append_session_log(db: Session, session_id: int, lines: Iterable[str]) -> None:
    row = db.get(SessionRecord, session_id)
    if row is None:
        return
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    row.log = (row.log + text)[-_MAX_LOG_CHARS:]


def record_session_finished(
    db: Session,
    session_id: int,
    *,
    conclusion: str,
    turns: int = 0,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost_usd: float = 0.0,
    branch: str | None = None,
    pull_request_number: int | None = None,
    pull_request_url: str | None = None,
    check_run_url: str | None = None,
    runner_session_id: str | None = None,
    error: str | None = None,
    log: str | None = None,
) -> SessionRecord | None:
    """A session ended: its figures, its links, and the issue's agent status (pr_open when it
    left a pull request, failed when it did not succeed, else done)."""
    row = db.get(SessionRecord, session_id)
    if row is None:
        return None
    row.conclusion = conclusion
    row.turns = turns
    row.input_tokens = input_tokens
    row.output_tokens = output_tokens
    row.cost_usd = cost_usd
    row.branch = branch or row.branch
    row.pull_request_number = pull_request_number or row.pull_request_number
    row.pull_request_url = pull_request_url or row.pull_request_url
    row.check_run_url = check_run_url or row.check_run_url
    row.runner_session_id = runner_session_id or row.runner_session_id
    row.error = error
    row.finished_at = utcnow()
    if log is not None:
        row.log = log[-_MAX_LOG_CHARS:]
    if conclusion not in ("success", "neutral"):
        status = AgentStatus.FAILED
    elif row.pull_request_url:
        status = AgentStatus.PR_OPEN
    else:
        status = AgentStatus.DONE
    set_agent_status(db, row.repository, row.issue_number, status)
    return row


def latest_session(db: Session, repository: str, number: int) -> SessionRecord | None:
    return db.scalar(
        select(SessionRecord)
        .where(SessionRecord.repository == repository, SessionRecord.issue_number == number)
        .order_by(SessionRecord.id.desc())
        .limit(1)
    )


def has_sessions(db: Session, repository: str, number: int) -> bool:
    return latest_session(db, repository, number) is not None
