from __future__ import annotations

import pytest

from refinery.knowledge.models import (
    FAMILIES,
    _table,
    model_family,
    model_info,
    normalise_model_name,
)


@pytest.mark.parametrize(
    ("model", "family", "window", "encoding"),
    [
        ("gpt-4o-2024-08-06", "openai", 128_000, "o200k_base"),
        ("gpt-4o-mini", "openai", 128_000, "o200k_base"),
        ("ft:gpt-4o-mini:acme::x1", "openai", 128_000, "o200k_base"),
        ("openai/gpt-4.1-mini", "openai", 1_047_576, "o200k_base"),
        ("o3-mini", "openai", 200_000, "o200k_base"),
        ("o1-mini", "openai", 128_000, "o200k_base"),
        ("gpt-5-nano", "openai", 400_000, "o200k_base"),
        ("gpt-4", "openai", 8192, "cl100k_base"),
        ("gpt-4-turbo-2024-04-09", "openai", 128_000, "cl100k_base"),
        ("gpt-3.5-turbo-0125", "openai", 16_385, "cl100k_base"),
        ("anthropic/claude-3-5-sonnet-20241022", "anthropic", 200_000, None),
        ("us.anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic", 200_000, None),
        ("claude-sonnet-4-20250514", "anthropic", 200_000, None),
        ("claude-3-opus-20240229", "anthropic", 200_000, None),
        ("models/gemini-2.5-flash", "gemini", 1_048_576, None),
        ("gemini-1.5-pro-002", "gemini", 2_097_152, None),
        ("llama3.1:8b", "meta", 131_072, None),
        ("meta-llama/Llama-3.3-70B-Instruct", "meta", 131_072, None),
        ("mistral-large-latest", "mistral", 131_072, None),
        ("qwen2.5-72b-instruct", "other", 131_072, None),
        ("deepseek-chat", "other", 131_072, None),
    ],
)
def test_model_info_matches_the_most_specific_pattern(
    model: str, family: str, window: int, encoding: str | None
) -> None:
    info = model_info(model)
    assert (info.family, info.context_window, info.encoding, info.known) == (
        family,
        window,
        encoding,
        True,
    )
    assert model_family(model) == family


def test_output_limits_differ_between_generations() -> None:
    assert model_info("claude-3-5-haiku-20241022").max_output_tokens == 8192
    assert model_info("claude-3-haiku-20240307").max_output_tokens == 4096
    assert model_info("claude-opus-4-1").max_output_tokens == 32_000


@pytest.mark.parametrize("model", [None, "", "my-private-model", "text-bison"])
def test_unknown_models_are_other_without_a_window(model: str | None) -> None:
    info = model_info(model)
    assert (info.family, info.known, info.context_window, info.encoding) == (
        "other",
        False,
        None,
        None,
    )


def test_names_lose_provider_prefixes_and_tags() -> None:
    assert normalise_model_name("Azure/GPT-4o") == "gpt-4o"
    assert normalise_model_name("llama3.1:70b") == "llama3.1"


def test_every_entry_has_a_known_family_and_only_openai_has_an_encoding() -> None:
    factors, entries = _table()
    assert set(factors) <= set(FAMILIES)
    assert entries
    for entry in entries:
        assert entry.info.family in FAMILIES
        assert (entry.info.encoding is not None) == (entry.info.family == "openai")
        assert entry.info.context_window is None or entry.info.context_window > 1000
