"""Default models, what each model family accepts, and prices, read from ``defaults.yaml`` (data).

Providers differ in what a model accepts: OpenAI's reasoning models refuse ``temperature``, Claude
cannot be forced to call a tool while it thinks, thinking tokens use up the output limit. The
``models`` table says so per family (longest name prefix wins); ``call_plan`` turns it and the
``--reasoning`` level into what one call sends, so every provider reads one set of facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import ConfigError
from ..knowledge.data import load_data

REASONING_LEVELS = ("low", "medium", "high")


@cache
def _catalog() -> dict[str, Any]:
    loaded: dict[str, Any] = load_data("refinery.llm", "defaults.yaml")
    return loaded


def default_model(provider: str) -> str:
    """The model used for ``provider`` when none is chosen."""
    return str(_catalog()["default_models"].get(provider, "gpt-4.1"))


def _longest_prefix(table: dict[str, Any], model: str) -> str | None:
    matches = [name for name in table if model.startswith(name)]
    return max(matches, key=len) if matches else None


@dataclass(frozen=True, kw_only=True)
class ModelFacts:
    """What a model family accepts (one row of ``defaults.yaml``'s ``models``)."""

    temperature: bool
    """Accepts a sampling temperature."""
    reasoning: str
    """How a reasoning level is sent: ``effort``, ``budget``, ``adaptive``, ``level``, ``none``."""
    thinks: bool
    """Reasons even when not asked to."""
    levels: dict[str, str]
    """Low/medium/high mapped onto the model's own levels, where they differ."""
    strict_tool: bool = False
    """Claude: the answer tool can be marked ``strict`` (its input then matches the schema)."""


def model_facts(model: str) -> ModelFacts:
    """The facts of ``model``'s family; those of ``unknown_model`` for a model not listed."""
    table: dict[str, dict[str, Any]] = _catalog()["models"]
    name = _longest_prefix(table, model)
    row = table[name] if name else _catalog()["unknown_model"]
    return ModelFacts(
        temperature=bool(row["temperature"]), reasoning=str(row["reasoning"]),
        thinks=bool(row["thinks"]), levels=dict(row.get("levels", {})),
        strict_tool=bool(row.get("strict_tool", False)),
    )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class CallPlan:
    """What one call to ``model`` sends, given the answer's length and the reasoning level."""

    facts: ModelFacts
    temperature: float | None
    """The temperature to send; None when the model takes none."""
    effort: str | None
    """The reasoning level to send (mapped to the model's own); None leaves the default."""
    thinking: bool
    """The model will think in this call."""
    thinking_budget: int
    """Output tokens kept for thinking (0 when it will not think)."""
    max_output_tokens: int
    """The answer's tokens plus the thinking budget."""


def call_plan(
    model: str, *, reasoning: str | None, answer_tokens: int, temperature: float | None
) -> CallPlan:
    """The parameters one call sends: temperature, effort, thinking budget and output limit."""
    facts = model_facts(model)
    check_reasoning(model, reasoning)
    thinking = facts.thinks or reasoning is not None
    allowance: dict[str, int] = _catalog()["thinking_allowance"]
    budget = allowance[reasoning or "medium"] if thinking else 0
    effort = facts.levels.get(reasoning, reasoning) if reasoning else None
    return CallPlan(
        facts=facts, temperature=temperature if facts.temperature else None, effort=effort,
        thinking=thinking, thinking_budget=budget, max_output_tokens=answer_tokens + budget,
    )  # fmt: skip


def check_reasoning(model: str, reasoning: str | None) -> None:
    """A ConfigError when ``--reasoning`` is not a level or ``model`` has no reasoning setting."""
    if reasoning is None:
        return
    if reasoning not in REASONING_LEVELS:
        raise ConfigError(
            f"--reasoning {reasoning}: not a reasoning level", "use low, medium or high"
        )
    if model_facts(model).reasoning == "none":
        raise ConfigError(
            f"{model} has no reasoning setting",
            "drop --reasoning or choose a reasoning model with --model",
        )


def describe_call(model: str, reasoning: str | None, answer_tokens: int) -> str:
    """One line saying what a call to ``model`` sends (for ``config-check``)."""
    plan = call_plan(model, reasoning=reasoning, answer_tokens=answer_tokens, temperature=0.0)
    parts = [
        f"temperature {plan.temperature}" if plan.temperature is not None else "no temperature",
        f"reasoning {plan.effort}" if plan.effort else _default_reasoning(plan),
        f"up to {plan.max_output_tokens} output tokens"
        + (f" ({plan.thinking_budget} for thinking)" if plan.thinking else ""),
    ]
    return ", ".join(parts)


def _default_reasoning(plan: CallPlan) -> str:
    if plan.facts.reasoning == "none":
        return "no reasoning setting"
    return "reasoning at the model's default" if plan.thinking else "no thinking"


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """Estimated cost of a call by the longest price-table prefix of ``model``; None if unknown.

    ``output_tokens`` includes thinking tokens: every provider bills them as output.
    """
    prices: dict[str, list[float]] = _catalog()["prices"]
    name = _longest_prefix(prices, model)
    if name is None:
        return None
    per_input, per_output = prices[name]
    return round((input_tokens * per_input + output_tokens * per_output) / 1_000_000, 6)
