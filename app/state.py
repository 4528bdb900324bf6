"""What one App instance holds while it runs, passed to routes through `request.app.state`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from app.db.engine import Database
from app.github_app import AppGitHub
from app.metrics import Metrics
from app.reconcile import ReconcileLoop
from app.settings import AppSettings
from app.webhooks.handler import DeliveryHandler

if TYPE_CHECKING:
    from app.config import ServeConfig
    from app.worker.engine_gate import EngineGate


@dataclass
class AppState:
    settings: AppSettings
    database: Database
    metrics: Metrics
    github: AppGitHub | None
    handler: DeliveryHandler
    reconcile: ReconcileLoop | None = None
    workers: Any = None  # app.worker's pool, while it runs
    notes: list[str] = field(default_factory=list)  # start-up problems /healthz reports
    config: ServeConfig | None = None  # everything the server runs with (set by create_app)
    engine: EngineGate | None = None  # whether a session can run (the model is configured)
    stop: threading.Event = field(default_factory=threading.Event)  # stops the workers


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.autocoder
    return state


State = Annotated[AppState, Depends(get_state)]
