"""The read-eval-print loop of `autocoder chat`, and its single-prompt twin.

Each prompt runs as one task on a long-lived event loop (`TurnRunner`), so connections are
reused between prompts. Ctrl-C while the assistant works cancels that task and brings the prompt
back; Ctrl-C at the prompt clears the line; Ctrl-D (end of input) or /quit leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from runner.chat.assistant import Responder
from runner.chat.errors import ChatError
from runner.chat.io import ChatIO
from runner.chat.view import ChatView
from runner.engines.base import EngineError
from runner.limits import LimitReached

log = logging.getLogger(__name__)

T = TypeVar("T")

HELP = """\
Type a request and press Enter; the assistant reads, edits and runs things in this directory.
  /help            this help
  /id              show the correlation id sent as x-correlation-id
  /clear, /reset   forget the conversation and start a new one (new correlation id)
  /quit, /exit     leave (Ctrl-D too)
Ctrl-C stops the assistant's current answer and keeps the conversation."""

PROMPT = "> "

Explain = Callable[[str], str]


class TurnRunner:
    """Runs coroutines on one event loop; Ctrl-C cancels the running one and re-raises."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        task = self._loop.create_task(coro)
        try:
            return self._loop.run_until_complete(task)
        except KeyboardInterrupt:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    self._loop.run_until_complete(task)
            raise

    def close(self) -> None:
        if self._loop.is_closed():
            return
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        # Worker threads of a cancelled tool may still run: do not wait for them here.
        self._loop.close()


class Repl:
    def __init__(
        self,
        responder: Responder,
        io: ChatIO,
        runner: TurnRunner,
        *,
        explain: Explain = lambda message: message,
        banner: str = "",
    ) -> None:
        self.responder = responder
        self.io = io
        self.view = ChatView(io)
        self.runner = runner
        self.explain = explain
        self.banner = banner

    # -- the loop ------------------------------------------------------------------------------

    def run(self, *, scripted: bool = False) -> int:
        """Until /quit or Ctrl-D. At a terminal the exit status is 0 (whoever saw an error
        carried on); with `scripted` input (piped, a file) it is 1 when any prompt failed, so a
        script can tell."""
        if self.banner:
            self.view.info(self.banner)
        failed = False
        while True:
            try:
                line = self.io.read_line(PROMPT)
            except EOFError:
                self.view.end_line()
                self.io.write("\n")
                return 1 if scripted and failed else 0
            except KeyboardInterrupt:
                self.io.write("\n(Ctrl-D or /quit leaves)\n")
                continue
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if not self.command(line):
                    return 1 if scripted and failed else 0
                continue
            failed = self.turn(line) != "done" or failed

    def run_once(self, prompt: str) -> int:
        """One prompt, then leave: 0 when it was answered, 1 on an error, 130 on Ctrl-C."""
        outcome = self.turn(prompt)
        return {"done": 0, "failed": 1, "cancelled": 130}[outcome]

    def turn(self, prompt: str) -> str:
        """Answer one prompt; 'done', 'failed' or 'cancelled'."""
        try:
            self.runner.run(self.responder.respond(prompt, self.view.emit))
        except KeyboardInterrupt:
            self.view.notice("(cancelled)")
            return "cancelled"
        except EngineError as exc:
            self.view.error(self.explain(str(exc)))
            return "failed"
        except (ChatError, LimitReached) as exc:
            self.view.error(str(exc))
            return "failed"
        self.view.end_line()
        return "done"

    # -- slash commands ------------------------------------------------------------------------

    def command(self, line: str) -> bool:
        """Run a slash command; False means leave."""
        name = line.split()[0].lower()
        if name in ("/quit", "/exit"):
            return False
        if name == "/help":
            self.view.info(HELP)
        elif name == "/id":
            self.view.info(f"correlation id: {self.responder.conversation.correlation_id}")
        elif name in ("/clear", "/reset"):
            new_id = self.responder.conversation.reset()
            self.view.info(f"conversation cleared; new correlation id: {new_id}")
        else:
            self.view.info(f"unknown command {name}; /help lists the commands")
        return True
