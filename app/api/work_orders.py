"""`GET /api/work-orders/{id}` and `POST /api/work-orders/{id}/events`: how a session that runs
elsewhere (the `actions` executor) gets its work order and reports back.

Both take a bearer token, never a query string: the fetch the one-time dispatch token (the
second use, or one after the start deadline, is refused with 410), a report the events token
the fetch returned (refused with 410 once the attempt is over, which tells the run to stop).
A wrong or missing token, or an unknown id, is 401 alike. The logic is in
`app.executors.remote_orders`; these routes only translate HTTP. They are open to other
machines whatever the dashboard's access rules (`PREFIX` is exempt): the token is the access.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.executors.remote_orders import OrderRefused, RemoteOrders

PREFIX = "/api/work-orders/"
router = APIRouter(prefix="/api/work-orders")


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000)
    exit_code: int | None = None


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _orders(request: Request) -> RemoteOrders | None:
    orders: RemoteOrders | None = getattr(request.app.state, "remote_orders", None)
    return orders


def _refused(error: OrderRefused) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse({"detail": error.message}, status_code=error.status, headers=headers)


@router.get("/{order_id}")
def fetch_work_order(order_id: str, request: Request) -> JSONResponse:
    orders = _orders(request)
    if orders is None:
        return _refused(OrderRefused(404, "this server dispatches no remote sessions"))
    try:
        order, events_token = orders.get(order_id).fetch(_bearer(request))
    except OrderRefused as error:
        return _refused(error)
    return JSONResponse(
        {"work_order": order, "events_token": events_token},
        headers={"Cache-Control": "no-store"},
    )


@router.post("/{order_id}/events")
def report_events(order_id: str, report: Report, request: Request) -> JSONResponse:
    orders = _orders(request)
    if orders is None:
        return _refused(OrderRefused(404, "this server dispatches no remote sessions"))
    try:
        controls = orders.get(order_id).report(_bearer(request), report.events, report.exit_code)
    except OrderRefused as error:
        return _refused(error)
    return JSONResponse({"controls": controls}, headers={"Cache-Control": "no-store"})
