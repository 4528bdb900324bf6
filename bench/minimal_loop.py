"""The reference `bench/session.py` measures autocoder against: the least a label → pull request
loop can do with the same claude-agent-sdk, the same scripted model and the same emulator.

A webhook receiver on loopback; on `issues.labeled` with the trigger label it mints an
installation token, opens a check run, clones, runs the SDK with the issue as the prompt (every
tool allowed: there is no sandbox, no policy, no limits, no progress reports), commits, pushes,
opens the pull request and completes the check run. Not a product: the yardstick.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
from claude_agent_sdk import (
    ClaudeAgentOptions,
    ClaudeSDKClient,
    PermissionResultAllow,
    ResultMessage,
    ToolPermissionContext,
)

from tests.emulator.client import basic_auth_header  # git's token header, never in a URL
from tests.scripted_model.claude_env import claude_cli_env


@dataclass
class MinimalLoop:
    api_url: str  # the emulator's REST root
    app_id: int
    private_key: str
    webhook_secret: str
    model_url: str  # ANTHROPIC_BASE_URL of the scripted model
    label: str = "autocoder"
    done: threading.Event = field(default_factory=threading.Event)
    pull_url: str | None = None
    error: str | None = None

    def handle(self, event: str, payload: dict[str, Any]) -> None:
        if event != "issues" or payload.get("action") != "labeled":
            return
        if (payload.get("label") or {}).get("name") != self.label:
            return
        try:
            self.pull_url = self._session(payload)
        except Exception as exc:  # the bench reports it; nothing else to do
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.done.set()

    def _session(self, payload: dict[str, Any]) -> str:
        repo, issue = payload["repository"], payload["issue"]
        now = int(time.time()) - 60
        app_token = jwt.encode(
            {"iat": now, "exp": now + 540, "iss": str(self.app_id)}, self.private_key, "RS256"
        )
        with httpx.Client(base_url=self.api_url, trust_env=False, timeout=30) as gh:
            minted = gh.post(
                f"/app/installations/{payload['installation']['id']}/access_tokens",
                headers={"Authorization": f"Bearer {app_token}"},
            )
            token = minted.raise_for_status().json()["token"]
            gh.headers["Authorization"] = f"token {token}"
            with tempfile.TemporaryDirectory(prefix="minimal-") as root:
                work = Path(root) / "work"
                git = ["git", "-c", f"http.extraHeader={basic_auth_header(token)}"]
                subprocess.run([*git, "clone", "-q", repo["clone_url"], str(work)], check=True)
                head = _git(work, "rev-parse", "HEAD")
                run = gh.post(
                    f"/repos/{repo['full_name']}/check-runs",
                    json={"name": "minimal", "head_sha": head, "status": "in_progress"},
                ).raise_for_status()
                prompt = f"{issue['title']}\n\n{issue.get('body') or ''}"
                summary = asyncio.run(self._agent(prompt, work, Path(root) / "home"))
                branch = f"minimal/issue-{issue['number']}"
                _git(work, "checkout", "-q", "-b", branch)
                _git(work, "add", "-A")
                who = ["-c", "user.name=minimal", "-c", "user.email=minimal@example.com"]
                _git(work, *who, "commit", "-q", "-m", f"#{issue['number']}: {issue['title']}")
                subprocess.run([*git, "-C", str(work), "push", "-q", "origin", branch], check=True)
                pull = gh.post(
                    f"/repos/{repo['full_name']}/pulls",
                    json={
                        "title": issue["title"],
                        "head": branch,
                        "base": repo["default_branch"],
                        "body": f"Closes #{issue['number']}\n\n{summary}",
                    },
                ).raise_for_status()
                new_head = _git(work, "rev-parse", "HEAD")
                gh.post(
                    f"/repos/{repo['full_name']}/check-runs",
                    json={
                        "name": "minimal",
                        "head_sha": new_head,
                        "conclusion": "success",
                        "output": {"title": "Done", "summary": summary[:1000] or "Done"},
                    },
                ).raise_for_status()
                gh.patch(
                    f"/repos/{repo['full_name']}/check-runs/{run.json()['id']}",
                    json={"conclusion": "neutral"},
                ).raise_for_status()
                return str(pull.json()["html_url"])

    async def _agent(self, prompt: str, cwd: Path, home: Path) -> str:
        async def allow(
            name: str, tool_input: dict[str, Any], context: ToolPermissionContext
        ) -> PermissionResultAllow:
            return PermissionResultAllow(updated_input=tool_input)

        home.mkdir(parents=True, exist_ok=True)
        options = ClaudeAgentOptions(
            cwd=str(cwd),
            env=claude_cli_env(self.model_url, home),
            setting_sources=[],
            can_use_tool=allow,
            max_turns=10,
        )
        text = ""
        async with ClaudeSDKClient(options) as client:
            await client.query(prompt)
            async for message in client.receive_response():
                if isinstance(message, ResultMessage):
                    text = message.result or ""
        return text


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@contextmanager
def running_minimal_loop(loop: MinimalLoop) -> Iterator[str]:
    """Its webhook receiver on 127.0.0.1 (a free port); yields the webhook URL."""

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            digest = hmac.new(loop.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(
                f"sha256={digest}", self.headers.get("X-Hub-Signature-256", "")
            )
            self.send_response(202 if signed else 401)
            self.end_headers()
            if signed:
                event = self.headers.get("X-GitHub-Event", "")
                threading.Thread(target=loop.handle, args=(event, json.loads(body))).start()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhook"
    finally:
        server.shutdown()
        server.server_close()
