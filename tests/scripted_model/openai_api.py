"""The OpenAI chat-completions API, scripted: `POST /v1/chat/completions` and `GET /v1/models`.

Every chat-completions request counts as a turn. The builders are pure; the router at the bottom
connects them to a `ServerState`. Routes answer with and without the `/v1` prefix.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from .script import Fault, Turn
from .state import ServerState, play_turn, read_incoming
from .wire import estimate_tokens, new_id, split_text, sse

ERRORS: Mapping[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", None, "You are not allowed to sample from this model."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    413: ("invalid_request_error", None, "Request too large."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "Gateway timeout."),
    529: ("server_error", None, "The engine is currently overloaded, please try again later."),
}

FINISH_REASONS: Mapping[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
}

MODELS = ("scripted-model",)
_FINGERPRINT = "fp_scripted"


def finish_reason(turn: Turn) -> str:
    return FINISH_REASONS[turn.effective_stop_reason()]


def usage(body: Mapping[str, Any], turn: Turn) -> dict[str, int]:
    prompt = estimate_tokens([body.get("messages"), body.get("tools")])
    completion = estimate_tokens([turn.text or "", [c.arguments_json() for c in turn.tool_calls]])
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _call_ids(turn: Turn) -> list[str]:
    return [c.id or new_id("call_", 24) for c in turn.tool_calls]


def completion_body(turn: Turn, body: Mapping[str, Any]) -> dict[str, Any]:
    """A complete non-streaming `chat.completion`."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.text, "refusal": None}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json()},
            }
            for call_id, call in zip(_call_ids(turn), turn.tool_calls, strict=True)
        ]
    return {
        "id": new_id("chatcmpl-", 29),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model") or MODELS[0]),
        "system_fingerprint": _FINGERPRINT,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason(turn)}
        ],
        "usage": usage(body, turn),
    }


def completion_chunks(turn: Turn, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The `chat.completion.chunk` objects of a streamed completion (without `[DONE]`)."""
    options = body.get("stream_options")
    include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
    common = {
        "id": new_id("chatcmpl-", 29),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": str(body.get("model") or MODELS[0]),
        "system_fingerprint": _FINGERPRINT,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        extra = {"usage": None} if include_usage else {}
        return {**common, "choices": [choice], **extra}

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": part}) for part in split_text(turn.text or "")]
    for index, (call_id, call) in enumerate(zip(_call_ids(turn), turn.tool_calls, strict=True)):
        head = {"index": index, "id": call_id, "type": "function"}
        chunks.append(
            chunk({"tool_calls": [{**head, "function": {"name": call.name, "arguments": ""}}]})
        )
        chunks += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
            for part in split_text(call.arguments_json(), 4)
        ]
    chunks.append(chunk({}, finish_reason(turn)))
    if include_usage:
        chunks.append({**common, "choices": [], "usage": usage(body, turn)})
    return chunks


def error_response(
    status: int, message: str | None = None, *, retry_after: float | None = None
) -> JSONResponse:
    kind, code, default = ERRORS.get(status, ("server_error", None, "Server error."))
    headers = {"x-request-id": new_id("req_", 32)}
    if retry_after is not None:
        headers["retry-after"] = (
            str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        )
    error = {"message": message or default, "type": kind, "param": None, "code": code}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def fault_response(fault: Fault) -> JSONResponse:
    retry_after = fault.retry_after
    if retry_after is None and fault.status == 429:
        retry_after = 0
    return error_response(fault.status, fault.message, retry_after=retry_after)


def turn_response(turn: Turn, body: Mapping[str, Any]) -> Response:
    headers = {"x-request-id": new_id("req_", 32)}
    if not body.get("stream"):
        return JSONResponse(completion_body(turn, body), headers=headers)
    chunks = completion_chunks(turn, body)

    async def stream() -> AsyncIterator[bytes]:
        for item in chunks:
            yield sse(item)
        yield sse("[DONE]")

    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


def build_router(state: ServerState) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/chat/completions")
    @router.post("/chat/completions")
    async def chat_completions(request: Request) -> Response:
        incoming = await read_incoming(request)
        body = incoming.body
        if not incoming.body_ok or not isinstance(body, dict):
            incoming.record(state, "invalid", status=400)
            return error_response(400, "We could not parse the JSON body of your request.")
        return await play_turn(
            state,
            incoming,
            body,
            serve=turn_response,
            fail=fault_response,
            stall_ended=lambda: error_response(500, "scripted stall ended"),
        )

    @router.get("/v1/models")
    @router.get("/models")
    async def models(request: Request) -> Response:
        (await read_incoming(request)).record(state, "auxiliary", note="models")
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "scripted"} for m in MODELS]
        return JSONResponse({"object": "list", "data": data})

    return router
