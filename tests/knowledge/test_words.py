from __future__ import annotations

import pytest

from refinery.knowledge.words import identifier_words, says


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        ("reasoning_tasks", "check the account balance", False),
        ("reasoning_tasks", "count the rows", True),
        ("derived_values", "calculate the discount", True),
        ("derived_values", "a subtotal of the basket", True),
        ("admits_failure", "The weather service is unavailable.", True),
        ("admits_failure", "It is sunny downtown.", False),
    ],
)
def test_word_lists_match_whole_words_only(name: str, text: str, found: bool) -> None:
    assert says(name, text) is found


@pytest.mark.parametrize(
    ("tool", "retriever"),
    [
        ("lookup_order", False),
        ("get_user_details", False),
        ("web_search", True),
        ("vectorStoreRetriever", True),
        ("search_docs", True),
        ("researcher", False),
    ],
)
def test_tool_names_are_split_before_matching_retrieval_words(tool: str, retriever: bool) -> None:
    assert says("retrieval_tools", identifier_words(tool)) is retriever
