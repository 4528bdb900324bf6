"""The mirror on SQLite and on PostgreSQL (each test runs on both): installations and
repositories (a rename keeps the row), issues (a late, older copy does not overwrite a newer
one; pull requests are not features; big ids fit), sessions and the agent status they set."""

from __future__ import annotations

from app import mirror
from app.db.engine import open_database
from app.db.models import AgentStatus

REPO = "octo/hello"
BIG_ID = 2**40  # GitHub ids outgrow 32 bits


def _issue(number: int, title: str, updated: str, **extra: object) -> dict[str, object]:
    return {
        "number": number,
        "title": title,
        "body": "text",
        "state": "open",
        "labels": [{"name": "autocoder"}, {"name": "bug"}],
        "user": {"login": "mona"},
        "updated_at": updated,
        **extra,
    }


def test_registry_issues_and_sessions(database_url: str) -> None:
    database = open_database(database_url)
    with database.sessions() as db, db.begin():
        mirror.upsert_installation(db, {"id": BIG_ID, "account": {"login": "octo", "type": "User"}})
        mirror.upsert_repository(db, REPO, github_id=BIG_ID + 1, installation_id=BIG_ID)
        mirror.upsert_repository(db, "octo/renamed", github_id=BIG_ID + 1)
        mirror.upsert_issue(db, "octo/renamed", _issue(1, "new title", "2024-05-02T00:00:00Z"))
        mirror.upsert_issue(db, "octo/renamed", _issue(1, "old title", "2024-05-01T00:00:00Z"))
        assert (
            mirror.upsert_issue(db, REPO, _issue(2, "a PR", "x", pull_request={"url": "u"})) is None
        )
    with database.sessions() as db, db.begin():
        repositories = mirror.active_repositories(db)
        assert [(r.full_name, r.installation_id) for r in repositories] == [
            ("octo/renamed", BIG_ID)
        ]
        [feature] = mirror.features_of(db, "octo/renamed")
        assert (feature.number, feature.title, feature.labels) == (
            1,
            "new title",
            ["autocoder", "bug"],
        )
        session = mirror.record_session_started(db, repository="octo/renamed", issue_number=1)
        running = mirror.get_feature(db, "octo/renamed", 1)
        assert running is not None and running.agent_status == AgentStatus.RUNNING.value
        mirror.append_session_log(db, session.id, ["one", "two"])
        mirror.record_session_finished(
            db, session.id, conclusion="success", pull_request_url="http://x/pull/3", turns=2
        )
    with database.sessions() as db:
        latest = mirror.latest_session(db, "octo/renamed", 1)
        assert latest is not None and latest.conclusion == "success" and latest.turns == 2
        assert "two" in latest.log
        assert mirror.has_sessions(db, "octo/renamed", 1)
        after = mirror.get_feature(db, "octo/renamed", 1)
        assert after is not None and after.agent_status == AgentStatus.PR_OPEN.value
    database.dispose()
