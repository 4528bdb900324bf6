"""The emulator's web pages: every html_url it hands out for an issue, a pull request and a check
run opens as a page that shows what GitHub would, with untrusted text escaped."""

from __future__ import annotations

import httpx

from tests.emulator import Emulator

REPO = "octo/hello"
EVIL_TITLE = "Fix <script>alert('title')</script>"
EVIL_BODY = 'See <img src=x onerror="alert(1)"> and https://example.com/a?b=1&c="2"'
EVIL_COMMENT = "</div><script>alert('comment')</script>"
EVIL_FILE = "print('</pre><script>alert(\"diff\")</script>')\n"
EVIL_SUMMARY = "Done <b onmouseover=alert('summary')>bold</b>"


def _page(url: str) -> str:
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def test_html_urls_of_issue_pull_and_check_run_open_as_escaped_pages(
    github_emulator: Emulator,
) -> None:
    gh = github_emulator
    app = gh.register_app("autocoder")
    gh.create_repo(REPO, {"README.md": "hi\n"}, private=True)
    installation_id = gh.install(app.id, REPO)
    gh.add_user("mona", "write", REPO)
    mona = gh.act_as("mona")
    issue = mona.open_issue(REPO, EVIL_TITLE, EVIL_BODY)
    comment = mona.comment(REPO, issue["number"], EVIL_COMMENT)
    head = mona.push_files(REPO, "topic", {"evil.py": EVIL_FILE}, message="Add evil.py")
    pull = mona.open_pull(REPO, "topic", "Topic", f"Closes #{issue['number']}")
    token = gh.installation_token(app, installation_id)
    run = httpx.post(
        f"{gh.api_url}/repos/{REPO}/check-runs",
        headers={"Authorization": f"token {token}"},
        json={
            "name": "autocoder",
            "head_sha": head,
            "status": "completed",
            "conclusion": "success",
            "output": {"title": "All <i>done</i>", "summary": EVIL_SUMMARY},
        },
    ).json()
    gh.clear_requests()

    issue_page = _page(issue["html_url"])
    assert "Fix &lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in issue_page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in issue_page
    assert '<a href="https://example.com/a?b=1&amp;c=">' in issue_page
    assert "&lt;/div&gt;&lt;script&gt;alert(&#x27;comment&#x27;)&lt;/script&gt;" in issue_page
    assert f'id="issuecomment-{comment["id"]}"' in issue_page
    assert comment["html_url"].startswith(issue["html_url"] + "#issuecomment-")
    assert pull["html_url"] in issue_page  # the pull request that mentions it
    assert "<script>" not in issue_page and "<img" not in issue_page

    pull_page = _page(pull["html_url"])
    assert "+print(&#x27;&lt;/pre&gt;&lt;script&gt;alert(&quot;diff&quot;)" in pull_page
    assert '<span class="state open">open</span>' in pull_page and "<code>topic</code>" in pull_page
    assert run["html_url"] in pull_page and "All &lt;i&gt;done&lt;/i&gt;" in pull_page
    assert "<script>" not in pull_page

    raw = httpx.get(pull["diff_url"])
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/plain")
    assert "+++ b/evil.py" in raw.text and f"+{EVIL_FILE}" in raw.text

    run_page = _page(run["html_url"])
    assert "Done &lt;b onmouseover=alert(&#x27;summary&#x27;)&gt;bold&lt;/b&gt;" in run_page
    assert "success" in run_page and head in run_page
    assert "<b onmouseover" not in run_page

    # an issue's html_url that is a pull request goes to the pull request's page, as on GitHub
    as_issue = httpx.get(f"{gh.base_url}/{REPO}/issues/{pull['number']}")
    assert as_issue.status_code == 302
    assert as_issue.headers["location"] == f"/{REPO}/pull/{pull['number']}"
    # the pages are no REST traffic: not logged, not rate limited
    assert gh.requests() == []
    assert httpx.get(f"{gh.base_url}/{REPO}/issues/999").status_code == 404
    assert httpx.get(f"{gh.base_url}/octo/nothing/runs/1").status_code == 404
