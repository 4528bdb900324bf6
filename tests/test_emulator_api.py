"""REST behaviour of the emulator: pagination, conditional requests, filters, faults, git pushes
seen through the API, refused pushes, pull request rules."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.emulator import AppInfo, Emulator, WebhookReceiver, basic_auth_header


@pytest.fixture
def api(github_emulator: Emulator) -> Iterator[tuple[Emulator, AppInfo, httpx.Client]]:
    gh = github_emulator
    app = gh.register_app("autocoder")
    gh.create_repo("octo/hello", {"README.md": "hi\n"})
    installation_id = gh.install(app.id, "octo/hello")
    token = gh.installation_token(app, installation_id)
    with httpx.Client(base_url=gh.base_url, headers={"Authorization": f"token {token}"}) as client:
        yield gh, app, client


def git(
    cwd: Path, *args: str, header: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    config = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    if header is not None:
        config += ["-c", f"http.extraHeader={header}"]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", **(env or {})}
    return subprocess.run(
        ["git", *config, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )


def test_pagination_follows_link_headers(api: tuple[Emulator, AppInfo, httpx.Client]) -> None:
    gh, _, client = api
    for n in range(5):
        client.post("/repos/octo/hello/issues", json={"title": f"issue {n}"})
    first = client.get("/repos/octo/hello/issues", params={"per_page": 2})
    assert [i["number"] for i in first.json()] == [5, 4]
    assert first.links["next"]["url"] == f"{gh.base_url}/repos/octo/hello/issues?per_page=2&page=2"
    assert first.links["last"]["url"].endswith("page=3")
    numbers = [i["number"] for i in first.json()]
    url: str | None = first.links["next"]["url"]
    while url:
        page = client.get(url)
        numbers += [i["number"] for i in page.json()]
        assert page.links["first"]["url"].endswith("page=1")
        url = page.links.get("next", {}).get("url")
    assert numbers == [5, 4, 3, 2, 1]
    assert "prev" in page.links and "next" not in page.links


def test_etag_304_costs_no_rate_limit(api: tuple[Emulator, AppInfo, httpx.Client]) -> None:
    _, _, client = api
    first = client.get("/repos/octo/hello/issues")
    etag = first.headers["etag"]
    remaining = int(first.headers["x-ratelimit-remaining"])
    assert first.headers["x-ratelimit-limit"] == "5000"
    assert first.headers["x-ratelimit-resource"] == "core"
    assert int(first.headers["x-ratelimit-used"]) == 5000 - remaining
    assert first.headers["x-github-request-id"]
    again = client.get("/repos/octo/hello/issues", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert int(again.headers["x-ratelimit-remaining"]) == remaining
    client.post("/repos/octo/hello/issues", json={"title": "new"})
    changed = client.get("/repos/octo/hello/issues", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert int(changed.headers["x-ratelimit-remaining"]) == remaining - 2


def test_since_labels_and_state_filters(api: tuple[Emulator, AppInfo, httpx.Client]) -> None:
    gh, _, client = api
    client.post("/repos/octo/hello/issues", json={"title": "old", "labels": ["autocoder"]})
    gh.advance_clock(120)
    middle = client.get("/rate_limit")  # just to pass time on the emulator's clock
    assert middle.status_code == 200
    client.post("/repos/octo/hello/issues", json={"title": "new", "labels": ["autocoder", "bug"]})
    client.post("/repos/octo/hello/issues", json={"title": "plain"})
    client.patch("/repos/octo/hello/issues/3", json={"state": "closed"})
    new_created = client.get("/repos/octo/hello/issues/2").json()["created_at"]

    def titles(**params: str) -> list[str]:
        return [i["title"] for i in client.get("/repos/octo/hello/issues", params=params).json()]

    assert titles(labels="autocoder") == ["new", "old"]
    assert titles(labels="autocoder,bug") == ["new"]
    assert titles(since=new_created) == ["new"]
    assert titles(state="closed") == ["plain"]
    assert titles(state="all", direction="asc") == ["old", "new", "plain"]


def test_faults_answer_the_next_requests_then_stop(
    api: tuple[Emulator, AppInfo, httpx.Client],
) -> None:
    gh, _, client = api
    gh.inject_fault("502", "/repos/octo/hello/issues*", method="GET", count=2)
    assert client.get("/repos/octo/hello/issues").status_code == 502
    assert client.get("/repos/octo/hello/issues/1").status_code == 502
    assert client.get("/repos/octo/hello/issues").status_code == 200
    assert client.get("/repos/octo/hello").status_code == 200

    gh.inject_fault("secondary_rate_limit", "/repos/*/*/issues", method="POST", retry_after=30)
    limited = client.post("/repos/octo/hello/issues", json={"title": "x"})
    assert limited.status_code == 403
    assert limited.headers["retry-after"] == "30"
    assert "secondary rate limit" in limited.json()["message"]

    gh.inject_fault("rate_limit", "re:/repos/octo/hello.*")
    primary = client.get("/repos/octo/hello")
    assert primary.status_code == 403
    assert primary.headers["x-ratelimit-remaining"] == "0"
    assert primary.json()["message"].startswith("API rate limit exceeded")

    gh.inject_fault("429", "/repos/octo/hello")
    assert client.get("/repos/octo/hello").status_code == 429
    assert client.get("/repos/octo/hello").status_code == 200
    faulted = [r.fault for r in gh.requests() if r.fault]
    assert faulted == ["502", "502", "secondary_rate_limit", "rate_limit", "429"]


def test_unknown_route_and_validation_errors(api: tuple[Emulator, AppInfo, httpx.Client]) -> None:
    _, _, client = api
    missing = client.get("/repos/octo/hello/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found"
    assert "documentation_url" in missing.json()
    invalid = client.post("/repos/octo/hello/issues", json={"body": "no title"})
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == [
        {"resource": "Issue", "code": "missing_field", "field": "title"}
    ]
    broken = client.post("/repos/octo/hello/issues", content=b"{not json")
    assert broken.status_code == 400
    assert broken.json()["message"] == "Problems parsing JSON"


def test_push_moves_branches_and_updates_pull_requests(
    api: tuple[Emulator, AppInfo, httpx.Client], tmp_path: Path, webhook_sink: WebhookReceiver
) -> None:
    gh, app, client = api
    gh.set_webhook_url(app.id, webhook_sink.url)
    token = client.headers["Authorization"].split()[1]
    header = basic_auth_header(token)
    work = tmp_path / "work"
    assert git(tmp_path, "clone", "-q", gh.clone_url("octo/hello"), str(work)).returncode == 0
    assert git(work, "checkout", "-qb", "feature/x").returncode == 0
    (work / "a.txt").write_text("a\n")
    assert git(work, "add", ".").returncode == 0
    assert git(work, "commit", "-qm", "a").returncode == 0
    pushed = git(work, "push", "-q", "origin", "HEAD", header=header)
    assert pushed.returncode == 0, pushed.stderr
    first = git(work, "rev-parse", "HEAD").stdout.strip()

    branches = [b["name"] for b in client.get("/repos/octo/hello/branches").json()]
    assert branches == ["feature/x", "main"]
    assert client.get("/repos/octo/hello/branches/feature/x").json()["commit"]["sha"] == first
    ref = client.get("/repos/octo/hello/git/ref/heads/feature/x").json()
    assert ref["object"]["sha"] == first

    body = {"title": "X", "head": "octo:feature/x", "base": "main", "body": "Closes #1"}
    pull = client.post("/repos/octo/hello/pulls", json=body)
    assert pull.status_code == 201
    duplicate = client.post("/repos/octo/hello/pulls", json=body)
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["message"] == (
        "A pull request already exists for octo:feature/x."
    )
    nothing = client.post(
        "/repos/octo/hello/pulls", json={"title": "Y", "head": "main", "base": "feature/x"}
    )
    assert nothing.json()["errors"][0]["message"] == "No commits between feature/x and main"

    (work / "a.txt").write_text("b\n")
    assert git(work, "commit", "-qam", "b").returncode == 0
    assert git(work, "push", "-q", "origin", "HEAD", header=header).returncode == 0
    second = git(work, "rev-parse", "HEAD").stdout.strip()
    assert client.get("/repos/octo/hello/pulls/1").json()["head"]["sha"] == second
    gh.wait_for_deliveries()
    assert webhook_sink.events() == [
        ("push", None),
        ("pull_request", "opened"),
        ("push", None),
        ("pull_request", "synchronize"),
    ]
    sync = webhook_sink.received[3].payload
    assert (sync["before"], sync["after"]) == (first, second)
    push = webhook_sink.received[2].payload
    assert push["ref"] == "refs/heads/feature/x"
    assert [c["id"] for c in push["commits"]] == [second]


def test_pushes_need_credentials_with_write_access(
    api: tuple[Emulator, AppInfo, httpx.Client], tmp_path: Path
) -> None:
    gh, app, _ = api
    gh.create_repo("octo/secret", private=True)
    reader = gh.add_user("reader", "read", "octo/hello", token=True)
    assert reader.token is not None
    url = gh.clone_url("octo/hello")
    work = tmp_path / "work"
    assert git(tmp_path, "clone", "-q", url, str(work)).returncode == 0
    (work / "b.txt").write_text("b\n")
    git(work, "add", ".")
    git(work, "commit", "-qm", "b")

    anonymous = git(work, "push", "origin", "HEAD:refs/heads/x")
    assert anonymous.returncode != 0
    refused = git(
        work, "push", "origin", "HEAD:refs/heads/x", header=basic_auth_header(reader.token)
    )
    assert refused.returncode != 0
    assert "403" in refused.stderr or "denied" in refused.stderr

    secret = git(tmp_path, "clone", "-q", gh.clone_url("octo/secret"), str(tmp_path / "s"))
    assert secret.returncode != 0  # private: needs credentials
    token = gh.installation_token(app, gh.install(app.id, "octo/secret"))
    allowed = git(
        tmp_path,
        "clone",
        "-q",
        gh.clone_url("octo/secret"),
        str(tmp_path / "s"),
        header=basic_auth_header(token),
    )
    assert allowed.returncode == 0, allowed.stderr
    # without a header, git answers the 401 challenge from a credential helper
    helper = f"!f() {{ echo username=x-access-token; echo password={token}; }}; f"
    challenged = git(
        tmp_path,
        "-c",
        f"credential.helper={helper}",
        "clone",
        "-q",
        gh.clone_url("octo/secret"),
        str(tmp_path / "s2"),
    )
    assert challenged.returncode == 0, challenged.stderr
    assert "x" not in [
        b["name"] for b in httpx.get(f"{gh.base_url}/repos/octo/hello/branches").json()
    ]


def test_fetch_with_a_gzipped_request_body(
    api: tuple[Emulator, AppInfo, httpx.Client], tmp_path: Path
) -> None:
    """git gzips an upload-pack request over 1 kB (here: 40 wants); http-backend inflates it."""
    gh, _, client = api
    header = basic_auth_header(client.headers["Authorization"].split()[1])
    work = tmp_path / "work"
    assert git(tmp_path, "clone", "-q", gh.clone_url("octo/hello"), str(work)).returncode == 0
    script = []
    for n in range(40):
        script.append(
            f"commit refs/heads/b{n}\ncommitter t <t@example.com> {1700000000 + n} +0000\n"
            f"data 2\n{n % 10}\nfrom refs/heads/main^0\nM 644 inline f.txt\ndata 3\n{n:02d}\n"
        )
    imported = subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=work,
        input="".join(script),
        text=True,
        capture_output=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert git(work, "push", "-q", "origin", "--all", header=header).returncode == 0
    trace = {"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"}
    clone = git(tmp_path, "clone", gh.clone_url("octo/hello"), "copy", header=header, env=trace)
    assert clone.returncode == 0, clone.stderr
    assert "Content-Encoding: gzip" in clone.stderr
    branches = git(tmp_path / "copy", "branch", "-r").stdout
    assert branches.count("origin/b") == 40
    listed = client.get("/repos/octo/hello/branches", params={"per_page": 100}).json()
    assert len(listed) == 41
