"""GitHubClient against the GitHub emulator on loopback: the real boundary, real HTTP, no mocks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from runner.github import (
    AppCredentials,
    CheckRunAction,
    GitHubAuthError,
    GitHubClient,
    GitHubCredentials,
    GitHubRateLimitError,
    PullInfo,
    RequestRecord,
    RetryPolicy,
)
from runner.github.checks import OUTPUT_TEXT_LIMIT, TRUNCATION_NOTE
from tests.emulator import AppInfo, Emulator, running_emulator

REPO = "octo/widgets"
BRANCH = "autocoder/issue-1-add-flag"

# Short waits: the emulator's faults say `retry-after: 1`; backoffs are milliseconds.
FAST = RetryPolicy(
    retries=4,
    backoff_factor=0.01,
    backoff_max=0.05,
    secondary_rate_wait=1,
    max_rate_limit_wait=5,
    max_total_wait=20,
)


@dataclass
class World:
    emulator: Emulator
    app: AppInfo
    installation_id: int
    issue_number: int
    head_sha: str
    credentials: AppCredentials
    records: list[RequestRecord]
    client: GitHubClient


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(tmp_path_factory.mktemp("github-emulator")) as running:
        yield running


@pytest.fixture
def world(emulator: Emulator) -> Iterator[World]:
    emulator.reset()
    repo = emulator.create_repo(REPO, {"README.md": "# widgets\n"})
    app = emulator.register_app("autocoder")
    installation_id = emulator.install(app.id, repo.full_name)
    emulator.add_user("maria", "write", REPO)
    emulator.add_user("rita", "read", REPO)
    emulator.add_user("stranger")
    issue = emulator.act_as("maria").open_issue(
        REPO, "Add a --flag", "Please add a flag.", labels=["autocoder"]
    )
    head_sha = emulator.act_as("maria").push_files(
        REPO, BRANCH, {"flag.py": "FLAG = True\n"}, "Add flag"
    )
    credentials = GitHubCredentials.from_app(
        app.id, app.private_key, installation_id, base_url=emulator.base_url
    )
    records: list[RequestRecord] = []
    client = GitHubClient(
        credentials, seconds_between_writes=0.01, retry=FAST, request_hook=records.append
    )
    emulator.clear_requests()
    try:
        yield World(
            emulator,
            app,
            installation_id,
            int(issue["number"]),
            head_sha,
            credentials,
            records,
            client,
        )
    finally:
        client.close()


def _api_requests(world: World, method: str | None = None, path: str | None = None) -> list[str]:
    """`METHOD path` of every REST request the emulator answered (token minting excluded)."""
    return [
        f"{r.method} {r.path}"
        for r in world.emulator.requests()
        if not r.path.endswith("/access_tokens")
        and (method is None or r.method == method)
        and (path is None or r.path == path)
    ]


def _open_pull(world: World, **overrides: Any) -> PullInfo:
    fields: dict[str, Any] = {
        "title": "Add a --flag",
        "body": "Closes #1",
        "head": BRANCH,
        "base": "main",
    }
    fields.update(overrides)
    return world.client.create_pull(REPO, **fields)


# -- round trips ----------------------------------------------------------------------------


def test_repository_issue_and_permissions(world: World) -> None:
    client = world.client
    repo = client.get_repository(REPO)
    assert (repo.full_name, repo.default_branch, repo.private) == (REPO, "main", False)
    assert repo.clone_url.endswith(f"/{REPO}.git")

    issue = client.get_issue(REPO, world.issue_number)
    assert issue.title == "Add a --flag"
    assert issue.labels == ("autocoder",)
    assert issue.author == "maria" and not issue.is_pull_request

    assert client.get_permission(REPO, "maria") == "write"
    assert client.can_write(REPO, "maria")
    assert not client.can_write(REPO, "rita")
    assert not client.can_write(REPO, "stranger")
    assert not client.can_write(REPO, "nobody-at-all")


def test_each_read_sends_exactly_the_request_it_names(world: World) -> None:
    """No lazy PyGithub attribute sends a hidden GET."""
    world.client.get_issue(REPO, world.issue_number)
    world.client.list_issue_comments(REPO, world.issue_number)
    world.client.create_issue_comment(REPO, world.issue_number, "hello")
    base = f"/repos/{REPO}/issues/{world.issue_number}"
    assert _api_requests(world) == [
        f"GET {base}",
        f"GET {base}/comments",
        f"POST {base}/comments",
    ]


def test_comments_markers_and_reactions(world: World) -> None:
    client, number = world.client, world.issue_number
    marker = "<!-- autocoder:status -->"
    assert client.find_issue_comment(REPO, number, marker) is None
    world.emulator.act_as("maria").comment(REPO, number, "I can help too")
    created = client.create_issue_comment(REPO, number, f"{marker}\nWorking on it")
    assert created.author == f"{world.app.slug}[bot]"
    found = client.find_issue_comment(REPO, number, marker)
    assert found is not None and found.id == created.id

    edited = client.edit_issue_comment(REPO, created.id, f"{marker}\nDone")
    assert edited.body.endswith("Done") and edited.id == created.id
    bodies = [c.body for c in client.list_issue_comments(REPO, number)]
    assert bodies == ["I can help too", f"{marker}\nDone"]

    client.add_issue_reaction(REPO, number)
    client.add_issue_reaction(REPO, number)  # reacting twice is harmless
    with pytest.raises(ValueError, match="reaction"):
        client.add_issue_reaction(REPO, number, "thumbsup")


def test_pull_request_round_trip(world: World) -> None:
    client = world.client
    assert client.find_open_pull(REPO, BRANCH) is None
    pull = _open_pull(world, draft=True)
    assert (pull.head_ref, pull.base_ref, pull.head_sha) == (BRANCH, "main", world.head_sha)
    assert pull.draft and pull.state == "open"
    assert client.find_open_pull(REPO, BRANCH) == pull
    assert client.get_pull(REPO, pull.number) == pull

    updated = client.update_pull(REPO, pull.number, body="Closes #1\n\nMore detail.")
    assert updated.body.endswith("More detail.") and updated.title == pull.title

    # the author (the app's bot) is skipped; a non-collaborator's 422 is tolerated
    asked = client.request_reviewers(REPO, pull.number, ["maria", pull.author, "stranger"])
    assert asked == ["maria"]


def test_reviews_and_review_comments(world: World) -> None:
    client = world.client
    pull = _open_pull(world)
    review = world.emulator.act_as("maria").review(
        REPO,
        pull.number,
        "REQUEST_CHANGES",
        "Nearly",
        comments=[{"path": "flag.py", "line": 1, "body": "Name it VERBOSE"}],
    )
    reviews = client.list_reviews(REPO, pull.number)
    assert [(r.id, r.author, r.state) for r in reviews] == [
        (review["id"], "maria", "CHANGES_REQUESTED")
    ]
    assert reviews[0].commit_id == world.head_sha

    comments = client.list_review_comments(REPO, pull.number, review_id=review["id"])
    assert [(c.author, c.path, c.body) for c in comments] == [
        ("maria", "flag.py", "Name it VERBOSE")
    ]
    # the per-review listing has no `line` on GitHub; the full listing has
    assert [c.line for c in client.list_review_comments(REPO, pull.number)] == [1]
    reply = client.reply_to_review_comment(REPO, pull.number, comments[0].id, "Renamed.")
    assert reply.in_reply_to_id == comments[0].id and reply.path == "flag.py"
    assert len(client.list_review_comments(REPO, pull.number)) == 2


def test_check_run_round_trip(world: World) -> None:
    client = world.client
    cancel = CheckRunAction("Cancel", "Stop this session", "cancel")
    run = client.create_check_run(
        REPO,
        name="autocoder",
        head_sha=world.head_sha,
        title="Working",
        summary="Reading the issue",
        actions=[cancel],
    )
    assert (run.status, run.conclusion, run.head_sha) == ("in_progress", None, world.head_sha)

    done = client.update_check_run(
        REPO,
        run.id,
        conclusion="success",
        title="Done",
        summary="Opened a pull request",
        text="details",
        actions=(),
    )
    assert (done.id, done.status, done.conclusion) == (run.id, "completed", "success")
    assert client.list_check_runs(REPO, world.head_sha, name="autocoder") == [done]
    assert client.list_check_runs(REPO, world.head_sha, name="other") == []
    assert client.list_check_runs(REPO, BRANCH) == [done]


def test_rate_limit_and_request_hook(world: World) -> None:
    limit = world.client.rate_limit()
    assert limit.limit >= 5000 and 0 <= limit.remaining <= limit.limit
    assert limit.reset_at.timestamp() > time.time() - 5
    assert world.records[-1].method == "GET"
    assert world.records[-1].path == "/rate_limit"
    assert world.records[-1].status == 200


# -- resilience -------------------------------------------------------------------------------


def test_create_pull_survives_5xx_and_a_secondary_rate_limit_without_duplicates(
    world: World,
) -> None:
    pulls_path = f"/repos/{REPO}/pulls"
    world.emulator.inject_fault("502", pulls_path, method="POST", count=2)
    world.emulator.inject_fault(
        "secondary_rate_limit", pulls_path, method="POST", count=1, retry_after=1
    )
    started = time.monotonic()
    pull = _open_pull(world)
    assert time.monotonic() - started < 10

    assert world.client.find_open_pull(REPO, BRANCH) == pull
    posts = _api_requests(world, "POST", pulls_path)
    assert len(posts) == 4  # 502, 502, 403 secondary limit, 201
    statuses = [r.status for r in world.records if r.method == "POST" and r.path == pulls_path]
    assert statuses == [502, 502, 403, 201]
    # between the 502s, the client looked for a pull request that might have been created
    lookups = [r for r in world.emulator.requests() if r.method == "GET" and r.path == pulls_path]
    assert len(lookups) >= 2
    created = [r for r in world.emulator.requests() if r.path == pulls_path and r.status == 201]
    assert len(created) == 1


def test_create_pull_returns_the_pull_that_already_exists(world: World) -> None:
    first = _open_pull(world)
    again = _open_pull(world, title="A second attempt")
    assert again.number == first.number
    posts = _api_requests(world, "POST", f"/repos/{REPO}/pulls")
    assert len(posts) == 2  # the second POST was answered 422 "already exists"


def test_create_pull_returns_a_pull_created_by_an_attempt_that_seemed_to_fail(
    world: World,
) -> None:
    """A 502 after GitHub did the work: the lookup finds the pull, nothing is posted again."""
    existing = world.emulator.act_as("maria").open_pull(REPO, BRANCH, "Opened elsewhere")
    world.emulator.clear_requests()
    world.emulator.inject_fault("502", f"/repos/{REPO}/pulls", method="POST", count=1)
    pull = _open_pull(world)
    assert pull.number == existing["number"]
    assert len(_api_requests(world, "POST", f"/repos/{REPO}/pulls")) == 1


def test_check_run_update_survives_5xx_and_a_secondary_rate_limit(world: World) -> None:
    client = world.client
    run = client.create_check_run(
        REPO, name="autocoder", head_sha=world.head_sha, title="Working", summary="..."
    )
    run_path = f"/repos/{REPO}/check-runs/{run.id}"
    world.emulator.inject_fault("502", run_path, method="PATCH", count=2)
    world.emulator.inject_fault(
        "secondary_rate_limit", run_path, method="PATCH", count=1, retry_after=1
    )
    done = client.update_check_run(
        REPO, run.id, conclusion="failure", title="Failed", summary="The tests failed"
    )
    assert done.conclusion == "failure"
    assert len(_api_requests(world, "PATCH", run_path)) == 4
    assert [r.id for r in client.list_check_runs(REPO, world.head_sha)] == [run.id]


def test_check_run_create_survives_5xx_without_duplicates(world: World) -> None:
    runs_path = f"/repos/{REPO}/check-runs"
    world.emulator.inject_fault("503", runs_path, method="POST", count=2)
    run = world.client.create_check_run(
        REPO, name="autocoder", head_sha=world.head_sha, title="Working", summary="..."
    )
    assert [r.id for r in world.client.list_check_runs(REPO, world.head_sha)] == [run.id]
    assert len(_api_requests(world, "POST", runs_path)) == 3


def test_persistent_failure_raises_a_clear_error(world: World) -> None:
    world.emulator.inject_fault("500", f"/repos/{REPO}/issues/*", method="GET", count=50)
    with pytest.raises(Exception) as caught:
        world.client.get_issue(REPO, world.issue_number)
    message = str(caught.value)
    assert "reading issue" in message and "500" in message and "try again later" in message
    assert len(_api_requests(world, "GET")) == FAST.retries + 1


def test_a_rejected_token_never_appears_in_the_error(world: World) -> None:
    token = "ghp_ThisTokenIsNotKnownToTheEmulator000000"
    client = GitHubClient(GitHubCredentials.from_token(token, base_url=world.emulator.base_url))
    with pytest.raises(GitHubAuthError) as caught:
        client.get_issue(REPO, world.issue_number)
    error = caught.value
    assert error.status == 401
    assert "credentials" in str(error)
    for text in (str(error), repr(error), str(error.__cause__), repr(client)):
        assert token not in text


def test_installation_token_for_git_and_installation_lookup(world: World) -> None:
    unbound = GitHubCredentials.from_app(
        world.app.id, world.app.private_key, base_url=world.emulator.base_url
    )
    assert unbound.installation_id_for(REPO) == world.installation_id
    bound = unbound.for_repo(REPO)
    token = bound.installation_token()
    assert token and bound.installation_token() == token  # still valid: reused
    assert token not in repr(bound)
    # the token works for the API (as git would use it over HTTPS)
    as_token = GitHubClient(GitHubCredentials.from_token(token, base_url=world.emulator.base_url))
    assert as_token.get_repository(REPO).full_name == REPO
    world.emulator.clear_requests()
    assert as_token.can_create_check_runs()  # asked once: GET /installation/repositories
    handed = GitHubCredentials.from_token(token, base_url=world.emulator.base_url)
    handed.installation = True  # a token the worker minted for the installation: known
    assert GitHubClient(handed).can_create_check_runs()
    assert _api_requests(world) == ["GET /installation/repositories"]


# -- check-run payload limits -----------------------------------------------------------------


def test_long_summaries_are_truncated_visibly(world: World) -> None:
    summary = "s" * (OUTPUT_TEXT_LIMIT + 5000)
    world.client.create_check_run(
        REPO,
        name="autocoder",
        head_sha=world.head_sha,
        title="Working",
        summary=summary,
        text=summary,
    )
    (post,) = [
        r for r in world.emulator.requests() if r.method == "POST" and r.path.endswith("check-runs")
    ]
    assert post.status == 201 and post.request_body is not None
    output = post.request_body["output"]
    for field in ("summary", "text"):
        assert len(output[field]) == OUTPUT_TEXT_LIMIT
        assert output[field].endswith(TRUNCATION_NOTE)


def test_invalid_actions_raise_before_any_request(world: World) -> None:
    with pytest.raises(ValueError, match="label"):
        world.client.create_check_run(
            REPO,
            name="autocoder",
            head_sha=world.head_sha,
            title="t",
            summary="s",
            actions=[CheckRunAction("A label far too long!", "d", "id")],
        )
    with pytest.raises(ValueError, match="at most 3"):
        world.client.update_check_run(
            REPO,
            1,
            actions=[CheckRunAction(f"b{n}", "d", f"i{n}") for n in range(4)],
        )
    assert _api_requests(world) == []


def test_429_with_retry_after_is_waited_out(world: World) -> None:
    path = f"/repos/{REPO}/issues/{world.issue_number}"
    world.emulator.inject_fault("429", path, method="GET", count=1, retry_after=1)
    assert world.client.get_issue(REPO, world.issue_number).number == world.issue_number
    assert [r.status for r in world.records if r.path == path] == [429, 200]


def test_exhausted_primary_rate_limit_raises_with_the_reset_time(world: World) -> None:
    world.emulator.inject_fault("rate_limit", f"/repos/{REPO}", method="GET", count=50)
    started = time.monotonic()
    with pytest.raises(GitHubRateLimitError) as caught:
        world.client.get_repository(REPO)
    assert time.monotonic() - started < 10
    assert caught.value.reset_at is not None
    assert "rate limit" in str(caught.value)
