"""The dashboard: what `autocoder serve` shows a person in a browser at `/`.

Installations and repositories, a Kanban board of each repository's features by agent status,
each session's live log (Server-Sent Events, resumed without gaps or repeats), and Start / Stop /
Retry buttons that do what the matching `/autocoder` command does. Plain HTML shells with small
vanilla JS and CSS shipped as package data (`static/`): no front-end build step. The pages fill
themselves from the JSON API under `/api/dashboard/` and write text with `textContent` only, so
nothing the model or an issue says is ever parsed as HTML.

Access (`access`): loopback only and open by default; with `AUTOCODER_ALLOW_REMOTE=1` every
route asks for sign-in; every state-changing request needs a CSRF token and a same-origin Origin.
"""
