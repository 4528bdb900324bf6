"""What one App instance holds while it runs, passed to routes through `request.app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from app.db.engine import Database
from app.github_app import AppGitHub
from app.metrics import Metrics
from app.reconcile import ReconcileLoop
from app.settings import AppSettings
from app.webhooks.handler import DeliveryHandler


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


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.autocoder
    return state


State = Annotated[AppState, Depends(get_state)]
