"""Run `autocoder action` as the Actions runner would: a subprocess with the `GITHUB_*` and
`RUNNER_*` variables, an event payload file, and files for the step summary and outputs.

Event payloads start from GitHub's own examples (`tests/samples/webhooks/`) and are pointed at
the emulator's repository, issue and sender.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.world import REPO, World

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "webhooks"
ROOT = Path(__file__).resolve().parents[2]


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return data


def adapt(payload: dict[str, Any], world: World, *, sender: str) -> dict[str, Any]:
    """`payload` (a vendored example) pointed at the world's repository and `sender`."""
    payload = copy.deepcopy(payload)
    owner, name = REPO.split("/")
    repository = payload["repository"]
    repository.update(
        name=name,
        full_name=REPO,
        clone_url=world.repo.clone_url,
        default_branch=world.repo.default_branch,
        private=world.repo.private,
    )
    repository["owner"]["login"] = owner
    payload["sender"]["login"] = sender
    payload["sender"]["type"] = "User"
    payload.pop("installation", None)  # Actions payloads carry none
    return payload


def issue_event(
    world: World, action: str, number: int, *, label: str = "autocoder", sender: str
) -> dict[str, Any]:
    """An `issues.<action>` payload (labeled / unlabeled) for issue `number`."""
    payload = adapt(sample(f"issues.{action}.1"), world, sender=sender)
    issue = world.api(f"/repos/{REPO}/issues/{number}")
    payload["issue"].update(
        number=number, title=issue["title"], body=issue["body"], state=issue["state"]
    )
    payload["issue"].pop("pull_request", None)
    payload["label"]["name"] = label
    return payload


def comment_event(world: World, number: int, body: str, *, sender: str) -> dict[str, Any]:
    payload = adapt(sample("issue_comment.created.1"), world, sender=sender)
    payload["issue"].update(number=number)
    payload["issue"].pop("pull_request", None)
    payload["comment"].update(body=body)
    payload["comment"]["user"]["login"] = sender
    return payload


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class StepRun:
    exit_code: int
    stdout: str
    stderr: str
    summary: str
    output_text: str

    @property
    def outputs(self) -> dict[str, str]:
        return parse_output_file(self.output_text)

    @property
    def log(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return (
            f"exit {self.exit_code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}\n"
            f"--- summary\n{self.summary}"
        )


def parse_output_file(text: str) -> dict[str, str]:
    """Read a `$GITHUB_OUTPUT` file as the runner does (`name=value` and `name<<DELIM`)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            i += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def actions_env(
    world: World,
    tmp: Path,
    event_name: str,
    payload: dict[str, Any],
    *,
    actor: str,
    **settings: str,
) -> dict[str, str]:
    """The environment the Actions runner gives a step, for an event in the world's repository
    (no GITHUB_TOKEN: add one, or App credentials, in `settings`)."""
    tmp.mkdir(parents=True, exist_ok=True)
    event_path = tmp / "event.json"
    event_path.write_text(json.dumps(payload))
    runner_temp = tmp / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    (tmp / "summary.md").touch()
    (tmp / "output.txt").touch()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp / "home"),
        "LANG": "C.UTF-8",
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_REPOSITORY_OWNER": REPO.split("/")[0],
        "GITHUB_API_URL": world.emulator.api_url,
        "GITHUB_SERVER_URL": world.emulator.api_url,
        "GITHUB_ACTOR": actor,
        "GITHUB_RUN_ID": "4242",
        "GITHUB_WORKFLOW": "autocoder",
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "GITHUB_OUTPUT": str(tmp / "output.txt"),
        "AUTOCODER_GITHUB_WRITE_INTERVAL_S": "0",
    }
    (tmp / "home").mkdir(exist_ok=True)
    env.update(settings)
    return env


def openai_settings(model_url: str) -> dict[str, str]:
    return {
        "AUTOCODER_ENGINE": "openai",
        "AUTOCODER_BASE_URL": model_url,
        "AUTOCODER_MODEL": "scripted",
        "AUTOCODER_API_KEY": "sk-model-key-for-action-tests-1234",
        "AUTOCODER_MAX_TURNS": "10",
    }


def run_step(env: dict[str, str], tmp: Path, *, timeout: float = 240) -> StepRun:
    done = subprocess.run(
        [sys.executable, "-m", "autocoder", "action"],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return StepRun(
        exit_code=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr,
        summary=(tmp / "summary.md").read_text(),
        output_text=(tmp / "output.txt").read_text(),
    )


def review_event(
    world: World, pull_number: int, review: dict[str, Any], *, sender: str
) -> dict[str, Any]:
    """A `pull_request_review.submitted` payload for a review the emulator recorded."""
    payload = adapt(sample("pull_request_review.submitted.1"), world, sender=sender)
    payload["pull_request"] = world.api(f"/repos/{REPO}/pulls/{pull_number}")
    payload["review"].update(
        id=review["id"], body=review.get("body") or "", state=str(review["state"]).lower()
    )
    payload["review"]["user"]["login"] = sender
    return payload
