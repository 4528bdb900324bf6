"""pytest fixture: start scripted model servers that stop when the test ends.

Wire it in with `from tests.scripted_model.fixtures import scripted_model_server` in a conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Protocol

import pytest

from .server import Kind, ModelServer, ScriptSource, running_model_server


class StartModelServer(Protocol):
    def __call__(self, kind: Kind, script: ScriptSource) -> ModelServer: ...


@pytest.fixture
def scripted_model_server() -> Iterator[StartModelServer]:
    """`scripted_model_server("anthropic", [...turns])` starts a server for this test."""
    with ExitStack() as stack:

        def start(kind: Kind, script: ScriptSource) -> ModelServer:
            return stack.enter_context(running_model_server(kind, script))

        yield start
