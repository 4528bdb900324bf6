"""The demo's little GitHub world: an App, a repository with some code, a maintainer, an issue.

The issue asks for what the scripts in `scripts/` do, so the session makes sense to a reader.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.emulator.client import AppInfo, Emulator

REPO = "octo/hello"
MAINTAINER = "mona"
LABEL = "autocoder"

FILES = {
    ".gitignore": "__pycache__/\n",
    "README.md": "# hello\n\nA tiny greeting library.\n\n```python\n>>> from greet import greet\n"
    ">>> greet('Ada')\n'Hello, Ada!'\n```\n",
    "greet.py": 'def greet(name: str) -> str:\n    """Greet name."""\n'
    '    return f"Hello, {name}!"\n',
}
ISSUE_TITLE = "Add a farewell"
ISSUE_BODY = (
    "We can say hello but not goodbye.\n\n"
    "Please add `farewell(name)` next to `greet`, returning `Goodbye, <name>!`, with a test."
)


@dataclass(frozen=True)
class DemoWorld:
    app: AppInfo
    maintainer_token: str


def seed(emulator: Emulator, webhook_url: str) -> DemoWorld:
    """Register the App (webhooks to `webhook_url`), create and install on the repository."""
    app = emulator.register_app("autocoder", webhook_url)
    emulator.create_repo(REPO, FILES)
    emulator.install(app.id, REPO)
    maintainer = emulator.add_user(MAINTAINER, "write", REPO, token=True)
    return DemoWorld(app, maintainer.token or "")


def open_and_label_issue(emulator: Emulator) -> dict[str, object]:
    """Open the issue, then label it as the maintainer (the `issues.labeled` webhook starts it)."""
    person = emulator.act_as(MAINTAINER)
    issue = person.open_issue(REPO, ISSUE_TITLE, ISSUE_BODY)
    person.label_issue(REPO, int(issue["number"]), LABEL)
    return issue
