"""The Anthropic Messages API, scripted: `POST /v1/messages` (SSE and plain) and its neighbours.

The builders (`message_body`, `message_events`, `error_body`, `auxiliary_reason`) are pure; the
router at the bottom connects them to a `ServerState`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from .script import Fault, Turn
from .state import ServerState, play_turn, read_incoming
from .wire import estimate_tokens, new_id, split_text, sse

ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_ERROR_MESSAGES: Mapping[str, str] = {
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "overloaded_error": "Overloaded",
    "api_error": "Internal server error",
}

MODELS = ("claude-opus-5-5", "claude-sonnet-4-5", "claude-haiku-4-5")


def auxiliary_reason(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """Why a `/v1/messages` request is a Claude Code side request that must not take a turn.

    Besides its agent loop (which always sends its tools), Claude Code sends small side tasks:
    a session title (no tools, a JSON-schema `output_config.format`, a system prompt about
    naming the session), topic detection, and a `quota` probe (max_tokens 1). Requests that do
    not come from Claude Code (no `x-app: cli`, no Claude Code system prompt) always count.
    """
    if body.get("max_tokens") == 1 and _first_user_text(body.get("messages")) == "quota":
        return "quota probe"
    system = _system_text(body.get("system"))
    from_claude_code = headers.get("x-app") == "cli" or any(
        mark in system for mark in ("Claude Code", "Claude Agent SDK")
    )
    if not from_claude_code or body.get("tools"):
        return None
    lowered = system.lower()
    if "title" in lowered:
        return "title generation"
    if "topic" in lowered:
        return "topic detection"
    if _output_schema(body) is not None:
        return "structured side request"
    return None


def auxiliary_text(reason: str, body: Mapping[str, Any]) -> str:
    """A small valid answer: an instance of the requested JSON schema, if any, else plain text."""
    schema = _output_schema(body)
    if schema is not None:
        return json.dumps(sample_of_schema(schema))
    if reason == "topic detection":
        return '{"isNewTopic": false, "title": null}'
    if reason == "title generation":
        return "Scripted session"
    return "ok"


def sample_of_schema(schema: Mapping[str, Any]) -> Any:
    """The simplest value that satisfies a (simple) JSON schema."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: sample_of_schema(v) for k, v in props.items() if isinstance(v, Mapping)}
    samples = {"string": "Scripted session", "boolean": False, "integer": 0, "number": 0}
    return samples.get(str(kind), [] if kind == "array" else None)


def _output_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, Mapping) else None
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        return schema if isinstance(schema, Mapping) else {}
    return None


def input_tokens(body: Mapping[str, Any]) -> int:
    return estimate_tokens([body.get("system"), body.get("messages"), body.get("tools")])


def _usage(in_tokens: int, out_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": in_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": out_tokens,
        "service_tier": "standard",
    }


def _content(turn: Turn) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if turn.text is not None:
        blocks.append({"type": "text", "text": turn.text})
    for call in turn.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id or new_id("toolu_01", 22),
                "name": call.name,
                "input": dict(call.input),
            }
        )
    return blocks


def output_tokens(turn: Turn) -> int:
    return estimate_tokens([turn.text or "", [c.arguments_json() for c in turn.tool_calls]])


def message_body(turn: Turn, *, model: str, in_tokens: int) -> dict[str, Any]:
    """A complete non-streaming Message."""
    return {
        "id": new_id("msg_01", 22),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _content(turn),
        "stop_reason": turn.effective_stop_reason(),
        "stop_sequence": None,
        "usage": _usage(in_tokens, output_tokens(turn)),
    }


def message_events(turn: Turn, *, model: str, in_tokens: int) -> list[tuple[str, dict[str, Any]]]:
    """The SSE events of a streamed Message, in the order the real API sends them."""
    start = message_body(turn, model=model, in_tokens=in_tokens)
    blocks = start["content"]
    start |= {"content": [], "stop_reason": None, "usage": _usage(in_tokens, 1)}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            opening: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": part} for part in split_text(block["text"])]
        else:
            opening = {**block, "input": {}}
            call = turn.tool_calls[index - (1 if turn.text is not None else 0)]
            parts = ["", *split_text(call.arguments_json(), 4)]
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in parts]
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": opening},
            )
        )
        if index == 0:
            events.append(("ping", {"type": "ping"}))
        events += [
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
            for d in deltas
        ]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": turn.effective_stop_reason(), "stop_sequence": None},
                "usage": {"output_tokens": output_tokens(turn)},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "api_error")
    return {
        "type": "error",
        "error": {"type": kind, "message": message or _ERROR_MESSAGES.get(kind, kind)},
        "request_id": new_id("req_011C", 20),
    }


def error_response(
    status: int, message: str | None = None, *, retry_after: float | None = None
) -> JSONResponse:
    headers = {"request-id": new_id("req_011C", 20)}
    if retry_after is not None:
        headers["retry-after"] = _seconds(retry_after)
    if status == 529:
        headers["x-should-retry"] = "true"
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def fault_response(fault: Fault) -> JSONResponse:
    retry_after = fault.retry_after
    if retry_after is None and fault.status == 429:
        retry_after = 0
    return error_response(fault.status, fault.message, retry_after=retry_after)


def turn_response(turn: Turn, body: Mapping[str, Any]) -> Response:
    model = str(body.get("model") or MODELS[0])
    in_tokens = input_tokens(body)
    headers = {"request-id": new_id("req_011C", 20)}
    if not body.get("stream"):
        return JSONResponse(message_body(turn, model=model, in_tokens=in_tokens), headers=headers)
    events = message_events(turn, model=model, in_tokens=in_tokens)

    async def stream() -> AsyncIterator[bytes]:
        for name, data in events:
            yield sse(data, event=name)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream; charset=utf-8",
        headers={**headers, "cache-control": "no-cache"},
    )


def build_router(state: ServerState) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/messages")
    async def messages(request: Request) -> Response:
        incoming = await read_incoming(request)
        body = incoming.body
        if not incoming.body_ok or not isinstance(body, dict):
            incoming.record(state, "invalid", status=400)
            return error_response(400, "request body must be a JSON object")
        reason = auxiliary_reason(body, incoming.headers)
        if reason is not None:
            incoming.record(state, "auxiliary", note=reason)
            return turn_response(Turn(text=auxiliary_text(reason, body)), body)
        return await play_turn(
            state,
            incoming,
            body,
            serve=turn_response,
            fail=fault_response,
            stall_ended=lambda: error_response(500, "scripted stall ended"),
        )

    @router.post("/v1/messages/count_tokens")
    async def count_tokens(request: Request) -> Response:
        incoming = await read_incoming(request)
        incoming.record(state, "auxiliary", note="count_tokens")
        body = incoming.body if isinstance(incoming.body, dict) else {}
        return JSONResponse({"input_tokens": input_tokens(body)})

    @router.api_route("/api/hello", methods=["GET", "HEAD"])
    async def hello(request: Request) -> Response:
        """Claude Code's connectivity probe (`HEAD /api/hello`) before its first request."""
        (await read_incoming(request)).record(state, "auxiliary", note="connectivity probe")
        return Response(status_code=200)

    @router.get("/v1/models")
    async def models(request: Request) -> Response:
        (await read_incoming(request)).record(state, "auxiliary", note="models")
        data = [
            {
                "type": "model",
                "id": m,
                "display_name": m,
                "created_at": "2025-01-01T00:00:00Z",
            }
            for m in MODELS
        ]
        return JSONResponse(
            {"data": data, "has_more": False, "first_id": MODELS[0], "last_id": MODELS[-1]}
        )

    return router


def _system_text(system: object) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
    return ""


def _first_user_text(messages: object) -> str:
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        return ""
    content = messages[0].get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("text", ""))
    return ""


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
