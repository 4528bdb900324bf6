"""Minimal HTML pages for the `html_url`s the emulator hands out: an issue with its comments, a
pull request with its diff, a check run with its summary.

Pure functions from the emulator's own JSON shapes (see `payloads.py`) to a page. Everything
shown comes from issue text, comments, commit content or a model's summary, so all of it is
untrusted: every piece of text is HTML-escaped, and only `http(s)://` URLs become links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

Json = dict[str, Any]

_URL = re.compile(r"https?://[^\s<>\"'`()\[\]{}|\\^]+")
_TRAILING = ".,;:!?*_~"

_STYLE = """
body { font: 14px/1.5 system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em;
       color: #1f2328; }
header.emulator { color: #59636e; font-size: 12px; border-bottom: 1px solid #d1d9e0;
                  margin-bottom: 1em; }
.box { border: 1px solid #d1d9e0; border-radius: 6px; margin: 1em 0; }
.box > .meta { background: #f6f8fa; padding: .4em .8em; border-bottom: 1px solid #d1d9e0; }
.text { white-space: pre-wrap; padding: .8em; margin: 0; font: inherit; overflow-wrap: anywhere; }
pre.diff { padding: .8em; margin: 0; overflow-x: auto; font: 12px/1.4 ui-monospace, monospace; }
.add { background: #e6ffec; } .del { background: #ffebe9; } .hunk { color: #0969da; }
.state { display: inline-block; border-radius: 2em; padding: 0 .7em; color: #fff;
         background: #59636e; }
.state.open, .state.success { background: #1f883d; } .state.draft { background: #59636e; }
.state.failure, .state.cancelled, .state.timed_out { background: #cf222e; }
.state.closed, .state.merged { background: #8250df; }
"""


def linkify(text: str) -> str:
    """`text` HTML-escaped, with each http(s) URL in it made a link (escaped as well)."""
    out: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        out.append(escape(text[position : match.start()]))
        out.append(f'<a href="{escape(url)}">{escape(url)}</a>')
        position = end
    out.append(escape(text[position:]))
    return "".join(out)


def page(title: str, body: Iterable[str]) -> str:
    """A whole HTML document; `title` is plain text, `body` already-escaped fragments."""
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        '<header class="emulator">GitHub emulator (tests/emulator) — a local stand-in for '
        "github.com</header>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _state(label: str) -> str:
    return f'<span class="state {escape(label)}">{escape(label)}</span>'


def _text_box(meta: str, text: str | None, *, anchor: str | None = None) -> str:
    ident = f' id="{escape(anchor)}"' if anchor else ""
    content = linkify(text) if text else "<em>No description provided.</em>"
    return (
        f'<div class="box"{ident}><div class="meta">{meta}</div>'
        f'<div class="text">{content}</div></div>'
    )


def _comments(comments: Sequence[Json]) -> list[str]:
    return [
        _text_box(
            f"<b>{escape(c['user']['login'])}</b> commented {escape(c['created_at'] or '')}"
            + (" (edited)" if c.get("updated_at") != c.get("created_at") else ""),
            c["body"],
            anchor=f"issuecomment-{c['id']}",
        )
        for c in comments
    ]


def _heading(item: Json, state: str) -> list[str]:
    return [
        f"<h1>{escape(item['title'])} <small>#{int(item['number'])}</small></h1>",
        f"<p>{_state(state)} opened by <b>{escape(item['user']['login'])}</b> "
        f"{escape(item['created_at'] or '')}</p>",
    ]


def _labels(issue: Json) -> str:
    names = [escape(label["name"]) for label in issue.get("labels", [])]
    return f"<p>Labels: {', '.join(names)}</p>" if names else ""


def _check_list(runs: Sequence[Json]) -> list[str]:
    if not runs:
        return []
    items = [
        f'<li><a href="{escape(r["html_url"])}">{escape(r["name"])}</a> — '
        f"{_state(r['conclusion'] or r['status'])} "
        f"{escape((r.get('output') or {}).get('title') or '')}</li>"
        for r in runs
    ]
    return ["<h2>Checks</h2><ul>", *items, "</ul>"]


def issue_page(repo: str, issue: Json, comments: Sequence[Json], mentions: Sequence[Json]) -> str:
    """An issue: title, state, labels, body, comments (anchored `issuecomment-<id>` as their
    html_url says) and the pull requests that mention it."""
    body = [
        f"<p>{escape(repo)}</p>",
        *_heading(issue, issue["state"]),
        _labels(issue),
        _text_box(f"<b>{escape(issue['user']['login'])}</b> wrote", issue.get("body")),
        *_comments(comments),
    ]
    if mentions:
        body.append("<h2>Pull requests that mention it</h2><ul>")
        body += [
            f'<li><a href="{escape(p["html_url"])}">'
            f"#{int(p['number'])} {escape(p['title'])}</a></li>"
            for p in mentions
        ]
        body.append("</ul>")
    return page(f"{issue['title']} · Issue #{issue['number']} · {repo}", body)


def diff_html(diff: str) -> str:
    """A unified diff as a `<pre>`, each line escaped and coloured by its kind."""
    lines = []
    for line in diff.splitlines():
        kind = ""
        if line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+") and not line.startswith("+++"):
            kind = "add"
        elif line.startswith("-") and not line.startswith("---"):
            kind = "del"
        cls = f' class="{kind}"' if kind else ""
        lines.append(f"<span{cls}>{escape(line)}</span>")
    return '<pre class="diff">' + "\n".join(lines) + "</pre>"


def pull_page(
    repo: str, pull: Json, comments: Sequence[Json], diff: str, runs: Sequence[Json]
) -> str:
    """A pull request: title, state (draft), branches, body, checks on its head, comments, diff."""
    state = "merged" if pull.get("merged_at") else ("draft" if pull.get("draft") else pull["state"])
    body = [
        *_heading(pull, state),
        f"<p>wants to merge <code>{escape(pull['head']['ref'])}</code> "
        f"({escape(pull['head']['sha'][:7])}) into <code>{escape(pull['base']['ref'])}</code> · "
        f'<a href="{escape(pull["diff_url"])}">raw diff</a></p>',
        _text_box(f"<b>{escape(pull['user']['login'])}</b> wrote", pull.get("body")),
        *_check_list(runs),
        *_comments(comments),
        "<h2>Files changed</h2>",
        diff_html(diff) if diff else "<p><em>No changes.</em></p>",
    ]
    return page(f"{pull['title']} · Pull Request #{pull['number']} · {repo}", body)


def check_run_page(repo: str, run: Json) -> str:
    """A check run: name, status or conclusion, title, summary and text, head commit, its PRs."""
    output = run.get("output") or {}
    pulls = [
        f'<li><a href="../pull/{int(p["number"])}">#{int(p["number"])}</a></li>'
        for p in run.get("pull_requests") or []
    ]
    body = [
        f"<h1>{escape(run['name'])}</h1>",
        f"<p>{_state(run['conclusion'] or run['status'])} on commit "
        f"<code>{escape(run['head_sha'])}</code> in {escape(repo)} "
        f"(started {escape(run.get('started_at') or '-')}, "
        f"completed {escape(run.get('completed_at') or '-')})</p>",
        f"<h2>{escape(output.get('title') or '')}</h2>" if output.get("title") else "",
        _text_box("Summary", output.get("summary")),
    ]
    if output.get("text"):
        body.append(_text_box("Details", output["text"]))
    if pulls:
        body += ["<h2>Pull requests</h2><ul>", *pulls, "</ul>"]
    return page(f"{run['name']} · check run {run['id']} · {repo}", body)
