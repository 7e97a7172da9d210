"""Default models and prices, read from ``defaults.yaml`` (data, not code)."""

from __future__ import annotations

from functools import cache
from typing import Any

from ..knowledge.data import load_data


@cache
def _catalog() -> dict[str, Any]:
    loaded: dict[str, Any] = load_data("refinery.llm", "defaults.yaml")
    return loaded


def default_model(provider: str) -> str:
    """The model used for ``provider`` when none is chosen."""
    return str(_catalog()["default_models"].get(provider, "gpt-4.1"))


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """Estimated cost of a call by the longest price-table prefix of ``model``; None if unknown."""
    prices: dict[str, list[float]] = _catalog()["prices"]
    matches = [name for name in prices if model.startswith(name)]
    if not matches:
        return None
    per_input, per_output = prices[max(matches, key=len)]
    return round((input_tokens * per_input + output_tokens * per_output) / 1_000_000, 6)
