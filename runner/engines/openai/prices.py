"""What a model turn costs, from an optional per-model price table (0 when the model is unknown:
local models through Ollama or vLLM cost nothing per token)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.engines.openai.wire import TokenUsage


@dataclass(frozen=True)
class ModelPrice:
    input_usd_per_mtok: float
    output_usd_per_mtok: float


def turn_cost(prices: Mapping[str, ModelPrice], model: str, usage: TokenUsage | None) -> float:
    """The cost in USD of one turn's tokens; 0.0 when the model has no price or no usage came."""
    price = prices.get(model)
    if price is None or usage is None:
        return 0.0
    return (
        usage.input_tokens * price.input_usd_per_mtok
        + usage.output_tokens * price.output_usd_per_mtok
    ) / 1_000_000
