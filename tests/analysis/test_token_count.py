"""Token counting: exact for OpenAI families, scaled estimates otherwise, each string once."""

from __future__ import annotations

import math

import pytest
from bpe_openai import _bindings

from refinery.analysis import tokens
from refinery.analysis.token_count import (
    TokenCounter,
    _count_with_encoding,
    _encoding,
    count_tokens,
    counts_exact,
)
from refinery.traces import Message

PROSE = "The agent looked up the order, found it had shipped, and told the customer so. "


def _reference(text: str, encoding: str = "o200k_base") -> int:
    return int(_bindings.tokenizer_for_encoding(encoding).count(text))


@pytest.mark.parametrize(
    ("model", "encoding"), [("gpt-4o", "o200k_base"), ("gpt-3.5-turbo", "cl100k_base")]
)
def test_openai_counts_are_exact(model: str, encoding: str) -> None:
    assert count_tokens("tiktoken is great!", model) == 6
    assert count_tokens(PROSE * 3, model) == _reference(PROSE * 3, encoding)
    assert counts_exact(model)


def test_other_families_are_scaled_o200k_estimates() -> None:
    assert not counts_exact("claude-3-5-sonnet-20241022")
    assert count_tokens(PROSE, "claude-3-5-sonnet-20241022") == math.ceil(_reference(PROSE) * 1.15)
    assert count_tokens(PROSE, None) == math.ceil(_reference(PROSE) * 1.1)


def test_text_longer_than_the_tokenizer_accepts_is_counted_in_chunks() -> None:
    text = PROSE * 5000  # ~400,000 characters, ~80,000 tokens
    assert count_tokens(text, "gpt-4o") == _reference(text)


def test_public_encoding_fallback_counts_long_text_exactly_in_chunks() -> None:
    text = PROSE * 5000
    assert _count_with_encoding(_encoding("o200k_base"), text) == _reference(text)


def test_lone_surrogates_are_counted_not_raised() -> None:
    assert count_tokens("broken \ud800 export", "gpt-4o") == _reference("broken ? export")


def test_each_distinct_string_is_counted_once() -> None:
    counter = TokenCounter(model="gpt-4o")
    messages = [Message(role="system", content=PROSE), Message(role="user", content=PROSE)]
    assert counter.messages(messages) == 2 * (3 + _reference(PROSE))
    assert len(counter._cache) == 1


def test_counting_names_stay_importable_from_the_report_module() -> None:
    assert tokens.count_tokens is count_tokens
    assert tokens.TokenCounter is TokenCounter
    assert tokens.counts_exact is counts_exact
