"""Merging a pull request in the emulator (`PUT /repos/{o}/{r}/pulls/{n}/merge`, and the control
API's merge button): the base branch of the real bare repository moves to a merge commit (or one
squashed commit) holding the pull request's change, the pull request closes as merged, the
`pull_request` closed webhook says `merged: true`, and GitHub's refusals: 405 when it cannot be
merged (merged already, closed, conflicts), 409 for a stale `sha`, 403 without write access.
Every exchange and webhook is checked against GitHub's OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.emulator import AppInfo, Emulator, WebhookReceiver, gitrepo
from tests.openapi.validator import OpenAPIValidator

REPO = "octo/hello"


@dataclass
class Setup:
    gh: Emulator
    app: AppInfo
    api: httpx.Client  # the app's installation
    hooks: WebhookReceiver


@pytest.fixture
def s(github_emulator: Emulator, webhook_sink: WebhookReceiver) -> Iterator[Setup]:
    gh = github_emulator
    app = gh.register_app("autocoder", webhook_sink.url)
    gh.create_repo(REPO, {"README.md": "hi\n"})
    installation_id = gh.install(app.id, REPO)
    gh.add_user("alice", "write", REPO, token="alice-token")
    gh.add_user("rita", "read", REPO, token="rita-token")
    token = gh.installation_token(app, installation_id)
    with httpx.Client(base_url=gh.base_url, headers={"Authorization": f"token {token}"}) as api:
        yield Setup(gh, app, api, webhook_sink)


def topic_pull(s: Setup, branch: str = "topic", files: dict[str, str] | None = None) -> int:
    alice = s.gh.act_as("alice")
    alice.push_files(REPO, branch, files or {"topic.txt": "topic\n"}, message="Add topic")
    return int(alice.open_pull(REPO, branch, "Add the topic", "Closes nothing.")["number"])


def path_of(s: Setup) -> Path:
    return s.gh.core.repo("octo", "hello").path


def assert_valid(s: Setup) -> None:
    spec = OpenAPIValidator.load()
    problems = [
        f"{r.method} {r.path} {r.status}: {p}"
        for r in s.gh.requests()
        for p in spec.check(r.method, r.path, r.status, r.request_body, r.response_body)
    ]
    problems += [
        f"webhook {h.event}: {p}"
        for h in s.hooks.received
        for p in spec.check_webhook(h.event, h.payload)
    ]
    assert problems == []


def test_merge_moves_the_base_branch_closes_the_pull_and_sends_merged_true(s: Setup) -> None:
    number = topic_pull(s)
    main_before = gitrepo.branches(path_of(s))["main"]
    head = s.api.get(f"/repos/{REPO}/pulls/{number}").json()["head"]["sha"]
    s.hooks.received.clear()

    answer = s.api.put(f"/repos/{REPO}/pulls/{number}/merge", json={"sha": head})
    assert answer.status_code == 200, answer.text
    merged = answer.json()
    assert merged["merged"] is True and merged["message"] == "Pull Request successfully merged"

    path = path_of(s)
    assert gitrepo.branches(path)["main"] == merged["sha"]
    commit = gitrepo.commit_info(path, merged["sha"])
    assert commit.parents == [main_before, head]  # a merge commit
    assert commit.message.startswith(f"Merge pull request #{number} from octo/topic")
    assert gitrepo.git(path, "show", f"{merged['sha']}:topic.txt") == "topic\n"
    assert gitrepo.git(path, "show", f"{merged['sha']}:README.md") == "hi\n"

    pull = s.api.get(f"/repos/{REPO}/pulls/{number}").json()
    assert (pull["state"], pull["merged"], pull["merge_commit_sha"]) == (
        "closed",
        True,
        merged["sha"],
    )
    assert pull["merged_at"] and pull["closed_at"]
    assert pull["merged_by"]["login"] == "autocoder[bot]"
    issue = s.api.get(f"/repos/{REPO}/issues/{number}").json()
    assert issue["state"] == "closed" and issue["pull_request"]["merged_at"] == pull["merged_at"]

    s.gh.wait_for_deliveries()
    events = [(h.event, h.payload.get("action")) for h in s.hooks.received]
    assert events == [("pull_request", "closed"), ("push", None)]
    closed, push = (h.payload for h in s.hooks.received)
    assert closed["number"] == number
    assert closed["pull_request"]["merged"] is True
    assert closed["pull_request"]["merge_commit_sha"] == merged["sha"]
    assert closed["pull_request"]["state"] == "closed"
    assert (push["ref"], push["before"], push["after"]) == (
        "refs/heads/main",
        main_before,
        merged["sha"],
    )
    assert_valid(s)

    again = s.api.put(f"/repos/{REPO}/pulls/{number}/merge")
    assert again.status_code == 405
    assert again.json()["message"] == "Pull Request is not mergeable"
    assert gitrepo.branches(path)["main"] == merged["sha"]
    assert_valid(s)


def test_the_merge_button_squashes_as_a_person(s: Setup) -> None:
    number = topic_pull(s)
    s.gh.act_as("alice").push_files(REPO, "topic", {"more.txt": "more\n"}, message="More")
    main_before = gitrepo.branches(path_of(s))["main"]

    merged = s.gh.act_as("alice").merge_pull(REPO, number, merge_method="squash")

    path = path_of(s)
    commit = gitrepo.commit_info(path, merged["sha"])
    assert commit.parents == [main_before]  # one commit on top of main
    assert commit.message.startswith(f"Add the topic (#{number})\n\n* Add topic\n\n* More")
    assert commit.author_name == "alice" or commit.author_email.startswith("alice")
    assert gitrepo.branches(path)["main"] == merged["sha"]
    tree = gitrepo.git(path, "ls-tree", "--name-only", merged["sha"]).split()
    assert tree == ["README.md", "more.txt", "topic.txt"]
    s.gh.wait_for_deliveries()
    [closed] = [h.payload for h in s.hooks.received if h.payload.get("action") == "closed"]
    assert closed["pull_request"]["merged"] is True
    assert closed["pull_request"]["merged_by"]["login"] == "alice"
    assert closed["sender"]["login"] == "alice"
    assert_valid(s)


def test_refusals(s: Setup) -> None:
    number = topic_pull(s)
    url = f"/repos/{REPO}/pulls/{number}/merge"
    rita = {"Authorization": "token rita-token"}
    alice = {"Authorization": "token alice-token"}

    refused = s.api.put(url, headers=rita)
    assert refused.status_code == 403
    assert refused.json()["message"] == "Must have push access to repository"
    stale = s.api.put(url, headers=alice, json={"sha": "0" * 40})
    assert stale.status_code == 409
    assert stale.json()["message"].startswith("Head branch was modified")
    rebase = s.api.put(url, headers=alice, json={"merge_method": "rebase"})
    assert rebase.status_code == 405
    assert s.api.put(f"/repos/{REPO}/pulls/999/merge").status_code == 404

    # conflicts: main changed the same file meanwhile
    s.gh.act_as("alice").push_files(REPO, "main", {"topic.txt": "other\n"}, message="Clash")
    main_now = gitrepo.branches(path_of(s))["main"]
    conflict = s.api.put(url)
    assert conflict.status_code == 405
    assert gitrepo.branches(path_of(s))["main"] == main_now

    # closed without merging
    other = topic_pull(s, "second", {"second.txt": "2\n"})
    s.gh.act_as("alice").close_issue(REPO, other)
    assert s.api.put(f"/repos/{REPO}/pulls/{other}/merge").status_code == 405
    pull = s.api.get(f"/repos/{REPO}/pulls/{number}").json()
    assert (pull["state"], pull["merged"]) == ("open", False)
    assert_valid(s)
    # (a request GitHub's description refuses, so after the check)
    unknown = s.api.put(url, headers=alice, json={"merge_method": "octopus"})
    assert unknown.status_code == 422
