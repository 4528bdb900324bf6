"""pytest fixtures for the GitHub emulator (enable with `pytest_plugins`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .client import Emulator, running_emulator
from .receiver import WebhookReceiver, webhook_receiver


@pytest.fixture
def github_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """A fresh GitHub emulator on 127.0.0.1, stopped after the test."""
    with running_emulator(tmp_path_factory.mktemp("github-emulator")) as emulator:
        yield emulator


@pytest.fixture
def webhook_sink() -> Iterator[WebhookReceiver]:
    """A webhook receiver on loopback (answers 202) recording every delivery."""
    with webhook_receiver() as receiver:
        yield receiver
