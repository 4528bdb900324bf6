"""What a session process reads after its work order: control lines on its control pipe —
`Stop` (or the pipe's end), `TokenRefresh`, and `Tell` (a maintainer's message for the agent)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import IO

from runner.conversation_state import SteeringInbox, SteerMessage
from runner.events import Stop, Tell, TokenRefresh, parse_control
from runner.handed_token import HandedToken

log = logging.getLogger("runner.session_process")


class Controls:
    """Reads control lines from stdin on a thread: `Stop` (or the end of stdin) sets the
    cancel event, `TokenRefresh` updates the credentials."""

    def __init__(self, stream: IO[str], credentials: HandedToken, echo: Callable[[str], None]):
        self._stream = stream
        self._credentials = credentials
        self._echo = echo
        self.loop: asyncio.AbstractEventLoop | None = None
        self.cancel: asyncio.Event | None = None
        self.stopped_by: str | None = None
        self._early_stop = False
        self.steering = SteeringInbox()  # `Tell` lines, for the engine's next turn

    def start(self) -> None:
        threading.Thread(target=self._read, name="controls", daemon=True).start()

    def attach(self, loop: asyncio.AbstractEventLoop, cancel: asyncio.Event) -> None:
        self.loop, self.cancel = loop, cancel
        if self._early_stop:
            loop.call_soon_threadsafe(cancel.set)

    def stop(self, why: str, *, quiet: bool = False) -> None:
        if self.stopped_by is None:
            self.stopped_by = why
            if not quiet:  # a signal handler must not take the event writer's lock
                self._echo(f"stopping: {why}")
        if self.loop is not None and self.cancel is not None:
            self.loop.call_soon_threadsafe(self.cancel.set)
        else:
            self._early_stop = True

    def _read(self) -> None:
        for line in self._stream:
            if not line.strip():
                continue
            try:
                control = parse_control(line)
            except ValueError:
                log.warning("ignored a control line that is not one")
                continue
            if isinstance(control, Stop):
                self.stop(control.reason)
            elif isinstance(control, TokenRefresh):
                self._credentials.update(control.token.get_secret_value())
            elif isinstance(control, Tell):
                self.steering.put(
                    SteerMessage(control.comment_id, control.author, control.text, control.mention)
                )
        self.stop("the worker is gone (stdin closed)")
