"""A repository on the GitHub emulator with a spec issue, and the feature tools on it, for the
feature tests (store and both engines)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from runner.features.store import FeatureStore
from runner.features.tools import FeatureTools
from runner.github.http import GitHubHTTP
from runner.github.issue_graph import IssueGraph
from tests.emulator import Emulator

REPO = "acme/shop"


@dataclass
class FeatureWorld:
    gh: Emulator
    http: GitHubHTTP
    graph: IssueGraph
    spec_issue: int

    def tools(self, own: int | None = None, seed: int = 7) -> FeatureTools:
        store = FeatureStore(self.graph, spec_issue=self.spec_issue)
        return FeatureTools(store, own=own, rng=random.Random(seed))


@contextmanager
def feature_world(gh: Emulator) -> Iterator[FeatureWorld]:
    app = gh.register_app("autocoder")
    gh.create_repo(REPO, {"README.md": "# shop\n"})
    installation_id = gh.install(app.id, REPO)
    gh.add_user("mona", "write", REPO)
    spec = gh.act_as("mona").open_issue(
        REPO, "App spec", "Build a shop.", labels=["autocoder:spec"]
    )
    token = gh.installation_token(app, installation_id)
    http = GitHubHTTP(gh.base_url, authorization=lambda: f"token {token}")
    try:
        yield FeatureWorld(gh, http, IssueGraph(http, REPO), int(spec["number"]))
    finally:
        http.close()
