"""The board shows, for a spec's features, what blocks what: the board's JSON carries the
relations mirrored from GitHub (issue #13's `issue_relations`) and each card names them."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.db.models import IssueRelation
from tests.app.webhook_harness import make_settings, running_app
from tests.dashboard import data
from tests.dashboard.browser import chromium


def test_the_board_shows_what_blocks_what(tmp_path: Path) -> None:
    with running_app(make_settings(tmp_path)) as (url, app):
        sessions = app.state.autocoder.database.sessions
        data.add_repository(sessions)
        for number, title in ((1, "Spec"), (2, "Login"), (3, "Profile page")):
            data.add_issue(sessions, number, title)
        with sessions() as db, db.begin():
            db.add(IssueRelation(repository=data.REPO, kind="blocked_by", number=3, other=2))
            db.add(IssueRelation(repository=data.REPO, kind="sub_issue", number=2, other=1))
            db.add(IssueRelation(repository=data.REPO, kind="sub_issue", number=3, other=1))
            db.add(IssueRelation(repository="octo/other", kind="blocked_by", number=2, other=9))
        board = httpx.get(f"{url}/api/dashboard/repos/{data.REPO}/board", timeout=5).json()
        assert board["graph"] == {
            "blocked_by": {"3": [2]},
            "blocks": {"2": [3]},
            "sub_issue_of": {"2": [1], "3": [1]},
        }
        with chromium() as browser:
            page = browser.new_page()
            page.goto(f"{url}/repos/{data.REPO}")
            page.wait_for_selector('[data-graph="3"]')
            assert page.text_content('[data-graph="3"]') == "blocked by #2 · part of #1"
            assert page.text_content('[data-graph="2"]') == "blocks #3 · part of #1"
            assert page.query_selector('[data-graph="1"]') is None
