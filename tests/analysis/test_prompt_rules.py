"""The one reading of a prompt's rules, shared by the coverage detector, the verdict and fixes."""

from __future__ import annotations

from refinery.analysis.detectors.prompt_rules import covering_rule, failure_rule, holds_rule

PROMPT = (
    "You are the billing assistant of Acme.\n"
    "- Never guess; if a tool fails say so.\n"
    "- Always confirm the refund amount with the customer before issuing it.\n"
)


def test_covering_rule_finds_the_sentence_asking_for_the_expectation() -> None:
    found = covering_rule("should confirm the refund amount before issuing it", [("p", PROMPT)])
    assert found is not None and found.source == "p"
    assert found.text == "- Always confirm the refund amount with the customer before issuing it."


def test_an_expectation_about_failures_is_covered_by_the_failure_rule() -> None:
    found = covering_rule(
        "should say the service is unavailable instead of guessing", [("p", PROMPT)]
    )
    assert found is not None and found.text == "- Never guess; if a tool fails say so."


def test_no_rule_when_the_prompt_does_not_address_the_expectation() -> None:
    assert covering_rule("should answer in French", [("p", PROMPT)]) is None
    assert failure_rule([("p", "You are a travel agent. Count the nights of the stay.")]) is None


def test_word_boundaries_keep_count_apart_from_account() -> None:
    prompt = "Always read the account number back to the customer."
    assert covering_rule("should count the items", [("p", prompt)]) is None


def test_holds_rule_compares_words_not_markup() -> None:
    assert holds_rule(PROMPT, "Never guess;  if a TOOL fails say so")
    assert not holds_rule("You are the billing assistant of Acme.", "Never guess.")
