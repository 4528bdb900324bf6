"""Replies to commands are posted after each delivery's answer, each by a thread of its own;
replies about the same issue still go out in the order of their deliveries (`/autocoder run`
then `/autocoder stop`), even when GitHub is slow to take the first."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

from app.webhooks.handler import Reply
from app.webhooks.route import WebhookReceiver


class SlowFirstGitHub:
    """GitHub taking its time over the first comment posted."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, int, str]] = []
        self.calls = 0
        self._lock = threading.Lock()

    def comment(self, installation_id: int, repository: str, number: int, body: str) -> None:
        with self._lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            time.sleep(0.3)
        with self._lock:
            self.posted.append((repository, number, body))


def _receiver(github: SlowFirstGitHub) -> WebhookReceiver:
    settings = SimpleNamespace(rules=lambda _github: None)
    state = SimpleNamespace(settings=settings, github=github)
    return WebhookReceiver(state, writer=None)  # type: ignore[arg-type]


def test_replies_about_one_issue_keep_their_order() -> None:
    github = SlowFirstGitHub()
    receiver = _receiver(github)

    async def deliveries() -> None:
        run = receiver._post_in_order(Reply(1, "octo/hello", 7, "Queued a session"))
        other = receiver._post_in_order(Reply(1, "octo/other", 3, "status"))
        stop = receiver._post_in_order(Reply(1, "octo/hello", 7, "Stopping 1"))
        await asyncio.gather(run, other, stop)

    asyncio.run(deliveries())
    about_7 = [body for repository, number, body in github.posted if number == 7]
    assert about_7 == ["Queued a session", "Stopping 1"]
    assert github.posted[0] == ("octo/other", 3, "status"), "another issue does not wait"
    assert receiver._replying == {}
