"""What a person watching the issue on GitHub would see change, read over the REST API.

`GitHubView.snapshot()` reads the issue's comments, the repository's pull requests and the check
runs on the default branch and autocoder's branches, with conditional requests (a 304 costs no
rate limit), the way a polling client should. `Progress.update(snapshot)` is pure: it returns what
changed since the last snapshot, and knows when the session is over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx

Json = dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    comments: list[Json]
    pulls: list[Json]
    runs: list[Json]  # check runs, any order


@dataclass(frozen=True)
class CommentShown:
    comment: Json
    edited: bool


@dataclass(frozen=True)
class RunShown:
    run: Json


@dataclass(frozen=True)
class PullShown:
    pull: Json
    moved: bool  # its head moved after it was first shown


Change = CommentShown | RunShown | PullShown


@dataclass
class Progress:
    """What has been shown so far, for one issue."""

    issue_number: int
    comments: dict[int, str] = field(default_factory=dict)  # id -> body shown
    runs: dict[int, tuple[str, str | None, str | None]] = field(default_factory=dict)
    latest_run: Json | None = None
    pull: Json | None = None

    def update(self, snapshot: Snapshot) -> list[Change]:
        changes: list[Change] = []
        for comment in sorted(snapshot.comments, key=lambda c: int(c["id"])):
            before = self.comments.get(comment["id"])
            if before != comment["body"]:
                changes.append(CommentShown(comment, edited=before is not None))
                self.comments[comment["id"]] = comment["body"]
        for run in sorted(snapshot.runs, key=lambda r: int(r["id"])):
            state = (run["status"], run["conclusion"], (run.get("output") or {}).get("title"))
            if self.runs.get(run["id"]) != state:
                changes.append(RunShown(run))
                self.runs[run["id"]] = state
            if self.latest_run is None or int(run["id"]) >= int(self.latest_run["id"]):
                self.latest_run = run
        pull = self._pull_for_issue(snapshot.pulls)
        if pull is not None and (
            self.pull is None or pull["head"]["sha"] != self.pull["head"]["sha"]
        ):
            changes.append(PullShown(pull, moved=self.pull is not None))
            self.pull = pull
        return changes

    def _pull_for_issue(self, pulls: list[Json]) -> Json | None:
        branch = f"autocoder/issue-{self.issue_number}-"
        closes = re.compile(rf"#{self.issue_number}\b")
        mine = [
            p
            for p in pulls
            if p["head"]["ref"].startswith(branch) or closes.search(p.get("body") or "")
        ]
        return min(mine, key=lambda p: int(p["number"])) if mine else None

    @property
    def finished(self) -> bool:
        """The newest check run is completed, so the session has ended. (When a session moves
        its check run to a new head it creates the new run, completed, before it completes the
        old one; the demo then waits a moment for that last change.)"""
        return self.latest_run is not None and self.latest_run["status"] == "completed"

    @property
    def conclusion(self) -> str | None:
        return self.latest_run["conclusion"] if self.finished and self.latest_run else None


class GitHubView:
    """The repository as the maintainer sees it through the REST API."""

    def __init__(self, api_url: str, repo: str, token: str) -> None:
        self.repo = repo
        self._http = httpx.Client(
            base_url=api_url,
            headers={"Authorization": f"token {token}", "Accept": "application/vnd.github+json"},
            timeout=10.0,
            trust_env=False,
        )
        self._cache: dict[str, tuple[str, Any]] = {}  # path -> (etag, data)

    def close(self) -> None:
        self._http.close()

    def get(self, path: str) -> Any:
        cached = self._cache.get(path)
        headers = {"If-None-Match": cached[0]} if cached else {}
        response = self._http.get(path, headers=headers)
        if response.status_code == 304 and cached:
            return cached[1]
        response.raise_for_status()
        data = response.json()
        etag = response.headers.get("etag")
        if etag:
            self._cache[path] = (etag, data)
        return data

    def snapshot(self, issue_number: int) -> Snapshot:
        base = f"/repos/{self.repo}"
        comments = self.get(f"{base}/issues/{issue_number}/comments?per_page=100")
        # runs on the default branch before the branches: a session creates the run on its new
        # head before it completes the old one, so this order never misses the new one
        repository = self.get(base)
        runs = self._runs(repository["default_branch"])
        branches = self.get(f"{base}/branches?per_page=100")
        for branch in branches:
            if branch["name"].startswith(f"autocoder/issue-{issue_number}-"):
                runs += self._runs(branch["commit"]["sha"])
        pulls = self.get(f"{base}/pulls?state=all&per_page=100")
        unique = {int(r["id"]): r for r in runs}
        return Snapshot(comments=comments, pulls=pulls, runs=list(unique.values()))

    def _runs(self, ref: str) -> list[Json]:
        data = self.get(f"/repos/{self.repo}/commits/{ref}/check-runs?filter=all&per_page=100")
        runs: list[Json] = data["check_runs"]
        return runs

    def diff(self, pull: Json) -> str:
        """The pull request's diff, from its `diff_url` (a page of the emulator)."""
        response = httpx.get(pull["diff_url"], timeout=10.0, trust_env=False)
        response.raise_for_status()
        return response.text
