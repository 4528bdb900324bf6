"""The whole round through the GitHub emulator with PyGithub and real git, checked against
GitHub's OpenAPI description: app JWT -> installation token -> clone -> push -> pull request ->
check run completed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from github import Auth, Github, GithubIntegration

from tests.emulator import Emulator, RequestRecord, basic_auth_header

try:
    from tests.openapi.validator import OpenAPIValidator
except ImportError:  # the validator is vendored by a sibling part of the test bench
    OpenAPIValidator = None  # type: ignore[assignment,misc]


def git(cwd: Path, *args: str, header: str | None = None) -> str:
    config = ["-c", "user.name=autocoder", "-c", "user.email=autocoder@example.com"]
    if header is not None:
        config += ["-c", f"http.extraHeader={header}"]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    result = subprocess.run(
        ["git", *config, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def openapi_problems(records: list[RequestRecord]) -> list[str]:
    assert OpenAPIValidator is not None
    spec = OpenAPIValidator.load()
    problems = []
    for record in records:
        for problem in spec.check(
            record.method, record.path, record.status, record.request_body, record.response_body
        ):
            problems.append(f"{record.method} {record.path} {record.status}: {problem}")
    return problems


def test_app_round_with_pygithub_and_git(github_emulator: Emulator, tmp_path: Path) -> None:
    gh = github_emulator
    app = gh.register_app("autocoder")
    repo = gh.create_repo("octo/hello", {"README.md": "# hello\n", "src/app.py": "x = 1\n"})
    gh.install(app.id, repo.full_name)
    gh.add_user("alice", "write", repo.full_name)
    gh.act_as("alice").open_issue(repo.full_name, "Make x two", labels=["autocoder"])

    app_auth = Auth.AppAuth(app.id, app.private_key)
    # PyGithub pauses 0.25 s between requests and 1 s between writes unless told otherwise
    integration = GithubIntegration(
        auth=app_auth,
        base_url=gh.base_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    assert integration.get_app().slug == "autocoder"
    installation = integration.get_repo_installation("octo", "hello")
    token = integration.get_access_token(installation.id).token
    assert token.startswith("ghs_")

    client = Github(
        auth=Auth.AppInstallationAuth(app_auth, installation.id),
        base_url=gh.base_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    remote = client.get_repo("octo/hello")
    assert remote.default_branch == "main"
    assert remote.clone_url == repo.clone_url
    assert remote.get_issue(1).title == "Make x two"

    header = basic_auth_header(token)
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", remote.clone_url, str(work), header=header)
    git(work, "checkout", "--quiet", "-b", "autocoder/issue-1-make-x-two")
    (work / "src" / "app.py").write_text("x = 2\n")
    git(work, "commit", "--quiet", "-am", "Make x two")
    head_sha = git(work, "rev-parse", "HEAD").strip()
    git(work, "push", "--quiet", "origin", "HEAD", header=header)
    assert remote.get_branch("autocoder/issue-1-make-x-two").commit.sha == head_sha

    pull = remote.create_pull(
        base="main", head="autocoder/issue-1-make-x-two", title="Make x two", body="Closes #1"
    )
    assert pull.head.sha == head_sha
    assert pull.head.ref == "autocoder/issue-1-make-x-two"
    assert pull.base.ref == "main"
    assert pull.user.login == "autocoder[bot]"
    assert (pull.commits, pull.additions, pull.deletions, pull.changed_files) == (1, 1, 1, 1)

    run = remote.create_check_run(name="autocoder", head_sha=head_sha, status="in_progress")
    run.edit(
        status="completed",
        conclusion="success",
        output={"title": "Pull request opened", "summary": "Made x two."},
    )
    runs = list(remote.get_commit(head_sha).get_check_runs(check_name="autocoder"))
    assert [(r.status, r.conclusion, r.output.title) for r in runs] == [
        ("completed", "success", "Pull request opened")
    ]
    assert runs[0].app.slug == "autocoder"

    records = gh.requests()
    assert {r.token_kind for r in records} == {"jwt", "installation"}
    assert all(r.status < 400 for r in records), [(r.path, r.status) for r in records]
    if OpenAPIValidator is None:
        pytest.skip("tests/openapi/validator.py is not there yet: OpenAPI check not run")
    assert openapi_problems(records) == []
