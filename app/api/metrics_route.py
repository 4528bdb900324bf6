"""`GET /metrics`: Prometheus text."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from app.metrics import CONTENT_TYPE
from app.state import State

router = APIRouter()


@router.get("/metrics")
async def metrics(state: State) -> Response:
    body = await run_in_threadpool(state.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
