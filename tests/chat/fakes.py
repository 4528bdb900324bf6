"""One terminal double for the chat tests, and the environment a chat subprocess gets."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path


class FakeIO:
    """Answers `read_line` from a list (EOFError when it runs out) and keeps what was written."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self.lines = list(lines)
        self.prompts: list[str] = []
        self.out: list[str] = []
        self.err: list[str] = []

    def read_line(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)

    def write(self, text: str, style: str | None = None) -> None:
        self.out.append(text)

    def write_error(self, text: str) -> None:
        self.err.append(text)

    @property
    def text(self) -> str:
        return "".join(self.out)


def autocoder_exe() -> str:
    return shutil.which("autocoder", path=str(Path(sys.executable).parent)) or "autocoder"


REPO_ROOT = Path(__file__).resolve().parents[2]


def chat_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a chat subprocess: no AUTOCODER_/model settings of this machine, its
    own HOME (so no ~/.autocoder.yaml is read), and the repository importable for test plug-ins."""
    drop = ("AUTOCODER_", "AUTO_CODER_", "OPENAI_", "USE_SSO", "SERVER_SIDE", "SSO_TOKEN")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(HOME=str(home), TERM="dumb", NO_COLOR="1", PYTHONPATH=str(REPO_ROOT))
    env.update(extra)
    return env
