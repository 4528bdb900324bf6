"""What the end-to-end tests of a spec's sequence (issue #13) share: the repository they build
in (a `test_command` that passes a feature when the session wrote `features/<N>` = `ok`), the
spec's three features, the model turns of an initializer and of a feature session, the server's
environment, the notification receiver, and how a test reads the outcome on GitHub (pull
requests per feature, the spec's progress comment, labels)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.emulator.client import Emulator
from tests.runner.session_harness import final_turn, open_pulls, write_turn
from tests.scripted_model.script import Turn, tool_turn
from tests.world import REPO, World, make_world

SECRET = "notify-secret-for-tests"
CHECK = 'test "$(cat "features/$AUTOCODER_FEATURE" 2>/dev/null)" = ok\n'
CONFIG = "test_command: sh check.sh\n"

# Login (priority 2), Cart (priority 1, blocked by Login), Search (priority 3): the order they
# run in is Login, Cart, Search.
FEATURES: list[dict[str, Any]] = [
    {
        "title": "Login",
        "description": "People sign in.",
        "steps": ["Open /login", "Sign in as mona"],
        "category": "functional",
        "priority": 2,
    },
    {
        "title": "Cart",
        "description": "Add items to a cart.",
        "steps": ["Add an item", "See it in the cart"],
        "priority": 1,
        "depends_on": [0],
    },
    {"title": "Search", "description": "Find items.", "steps": ["Search"], "priority": 3},
]


def sequence_world(emulator: Emulator, config: str = CONFIG) -> World:
    files = {"README.md": "# shop\n", "check.sh": CHECK, ".github/autocoder.yml": config}
    # features/ exists, so Claude Code's Bash can write features/<N> with a plain redirect
    return make_world(emulator, {**files, "features/README.md": "One file per feature.\n"})


def tool_name(engine: str, tool: str) -> str:
    """A feature tool as the engine's model calls it (Claude Code: an MCP tool)."""
    return tool if engine == "openai" else f"mcp__autocoder__{tool}"


def initializer_turns(
    engine: str = "openai", features: list[dict[str, Any]] = FEATURES
) -> list[Turn]:
    return [
        tool_turn(tool_name(engine, "feature_create_bulk"), {"features": features}),
        write_turn(engine, "init.sh", "#!/bin/sh\necho ready\n"),
        final_turn("Created the features, the skeleton and init.sh."),
    ]


def feature_turns(
    number: int,
    *,
    also: list[Turn] | None = None,
    engine: str = "openai",
) -> list[Turn]:
    return [
        write_turn(engine, f"features/{number}", "ok"),
        *(also or []),
        tool_turn(tool_name(engine, "feature_mark_passing"), {}),
        final_turn(f"Feature #{number} works."),
    ]


def serve_env(
    world: World, tmp_path: Path, model_url: str, notify_url: str | None, **extra: str
) -> dict[str, str]:
    """`autocoder serve`'s environment: the openai engine at `model_url` (the claude engine
    with `AUTOCODER_ENGINE=claude` in `extra`), a SQLite file under `tmp_path / "serve"`, no
    reconcile."""
    if extra.get("AUTOCODER_ENGINE") == "claude":
        model = {"ANTHROPIC_BASE_URL": model_url, "ANTHROPIC_API_KEY": "sk-ant-key-for-tests"}
    else:
        model = {
            "AUTOCODER_ENGINE": "openai",
            "AUTOCODER_BASE_URL": model_url,
            "AUTOCODER_MODEL": "scripted",
            "AUTOCODER_API_KEY": "sk-model-key-for-tests",
        }
    settings = {
        **model,
        "AUTOCODER_MAX_TURNS": "10",
        "AUTOCODER_WEBHOOK_SECRET": world.app.webhook_secret,
        "AUTOCODER_DATABASE_URL": f"sqlite:///{tmp_path / 'serve' / 'autocoder.db'}",
        "AUTOCODER_RECONCILE_INTERVAL": "0",
        "AUTOCODER_POLL_SECONDS": "0.2",
        "AUTOCODER_WORK_DIR": str(tmp_path / "work"),  # not /tmp/autocoder-work, shared
        **(
            {"AUTOCODER_NOTIFY_URL": notify_url, "AUTOCODER_NOTIFY_SECRET": SECRET}
            if notify_url
            else {}
        ),
        **extra,
    }
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AUTOCODER_", "ANTHROPIC_"))},
        **world.runner_env(tmp_path / "cache", **settings),
        "HOME": str(tmp_path / "home"),
    }


def pulls_for(world: World, number: int) -> list[dict[str, Any]]:
    """autocoder's pull requests (any state) for issue `number`."""
    prefix = f"autocoder/issue-{number}-"
    return [p for p in open_pulls(world) if p["head"]["ref"].startswith(prefix)]


def progress(world: World, spec: int, state: str) -> str | None:
    """The spec's progress comment once it says `Sequence: <state>`, else None."""
    comments = world.api(f"/repos/{REPO}/issues/{spec}/comments")
    bodies = [c["body"] for c in comments if "autocoder:progress" in c["body"]]
    return bodies[0] if bodies and f"Sequence: {state}" in bodies[0] else None


def labels_of(world: World) -> dict[int, set[str]]:
    """Every issue's labels, by number."""
    issues = world.api(f"/repos/{REPO}/issues?state=all&per_page=100")
    return {i["number"]: {label["name"] for label in i["labels"]} for i in issues}


class Receiver:
    """Records notification deliveries (payload, signed correctly?, status answered); answers
    500 to the first one when `fail_first`."""

    def __init__(self, fail_first: bool = True) -> None:
        self.received: list[tuple[dict[str, Any], bool, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if fail_first and not receiver.received else 200
                signature = self.headers.get("X-Autocoder-Signature-256")
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                receiver.received.append((json.loads(body), signature == expected, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def delivered(self) -> list[int]:
        """The passing counts of the deliveries answered 200, in order."""
        return [p["passing"] for p, _, status in self.received if status == 200]


@contextmanager
def receiving(fail_first: bool = True) -> Iterator[Receiver]:
    receiver = Receiver(fail_first)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
