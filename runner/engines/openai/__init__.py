"""The OpenAI-compatible engine: the project's own agent loop over `/v1/chat/completions`."""

from runner.engines.openai.client import OpenAICompatibleClient, RetryCallback, RetryPolicy
from runner.engines.openai.engine import OpenAIEngine
from runner.engines.openai.prices import ModelPrice, turn_cost
from runner.engines.openai.wire import ChatResponse, TokenUsage, ToolCallRequest

__all__ = [
    "ChatResponse",
    "ModelPrice",
    "OpenAICompatibleClient",
    "OpenAIEngine",
    "RetryCallback",
    "RetryPolicy",
    "TokenUsage",
    "ToolCallRequest",
    "turn_cost",
]
