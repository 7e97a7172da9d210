"""Model facts as data: what one call sends to each model family, and what it costs."""

from __future__ import annotations

import pytest

from refinery.errors import ConfigError
from refinery.llm.catalog import call_plan, cost_usd, default_model, model_facts


@pytest.mark.parametrize(
    ("model", "temperature", "reasoning", "thinks"),
    [
        ("gpt-4.1-2025-04-14", True, "none", False),
        ("gpt-5.5", False, "effort", True),
        ("gpt-5-chat-latest", True, "none", False),
        ("o4-mini", False, "effort", True),
        ("claude-opus-4-6", False, "adaptive", False),
        ("claude-opus-4-7", False, "adaptive", True),
        ("claude-haiku-4-5-20251001", False, "budget", False),
        ("gemini-2.5-pro", True, "budget", True),
        ("gemini-3.1-pro-preview", False, "level", True),
        ("my-local-model", True, "none", False),
    ],
)
def test_model_facts_by_longest_prefix(
    model: str, temperature: bool, reasoning: str, thinks: bool
) -> None:
    facts = model_facts(model)
    assert (facts.temperature, facts.reasoning, facts.thinks) == (temperature, reasoning, thinks)


def test_thinking_gets_room_on_top_of_the_answer() -> None:
    quiet = call_plan("gpt-4.1", reasoning=None, answer_tokens=8000, temperature=0.0)
    assert (quiet.temperature, quiet.effort, quiet.max_output_tokens) == (0.0, None, 8000)
    default = call_plan("gpt-5.5", reasoning=None, answer_tokens=8000, temperature=0.0)
    assert (default.temperature, default.effort, default.max_output_tokens) == (None, None, 24384)
    low = call_plan("gpt-5.5", reasoning="low", answer_tokens=8000, temperature=0.0)
    assert (low.effort, low.thinking_budget, low.max_output_tokens) == ("low", 4096, 12096)
    pro = call_plan("gemini-3.1-pro-preview", reasoning="medium", answer_tokens=8000,
                    temperature=0.0)  # fmt: skip
    assert pro.effort == "high"  # Gemini 3 Pro has only low and high


def test_reasoning_on_a_model_without_it_is_refused() -> None:
    with pytest.raises(ConfigError, match="^gpt-4.1 has no reasoning setting"):
        call_plan("gpt-4.1", reasoning="high", answer_tokens=8000, temperature=0.0)
    with pytest.raises(ConfigError, match="not a reasoning level"):
        call_plan("gpt-5.5", reasoning="max", answer_tokens=8000, temperature=0.0)


def test_defaults_are_priced_and_thinking_is_billed_as_output() -> None:
    for provider in ("openai", "azure", "anthropic", "gemini"):
        assert cost_usd(default_model(provider), 1, 1) is not None
    assert cost_usd("gpt-5.5-2026-04-23", 1_000_000, 1_000_000) == 35.0
    assert cost_usd("claude-opus-4-1", 1_000_000, 0) == 15.0
    assert cost_usd("claude-opus-4-6", 1_000_000, 0) == 5.0
    assert cost_usd("llama3.1", 10, 10) is None
