"""Rule wording: behaviours generalise, case values are dropped, grammar is checked."""

from __future__ import annotations

from refinery.analysis.offline.rule_text import general_rule, grammar_problems, obligation


def test_rule_drops_the_cases_ids_amounts_and_names() -> None:
    case = "Please cancel subscription SUB-4471 for Marguerite, billed $12.50"
    rule = general_rule(
        "The agent should have confirmed the cancellation date (SUB-4471) with Marguerite "
        "and emailed a receipt, not charged $12.50 again.",
        case,
    )
    assert not rule.specific
    assert rule.text == "Confirm the cancellation date and email a receipt"
    assert not grammar_problems(rule.text)


def test_a_specific_answer_is_flagged_instead_of_pasted() -> None:
    rule = general_rule("Gate B7 is two levels below gate C12; the walk takes 9 minutes.", "B7 C12")
    assert rule.specific


def test_policy_threshold_stays_and_situation_becomes_a_condition() -> None:
    rule = general_rule(
        "Parcels heavier than 20 kg need a freight quote: the bot should ask for dimensions first.",
        "my parcel weighs 27 kg",
    )
    assert rule.text == (
        "When parcels heavier than 20 kg need a freight quote, ask for dimensions first"
    )


def test_grammar_check_catches_spliced_templates() -> None:
    assert grammar_problems("the correct behaviour is to the parcels ship today")
    assert grammar_problems("Services must renamed the key")
    assert grammar_problems("Reply reply politely")
    assert not grammar_problems("Do not promise delivery dates")


def test_obligation_keeps_conditions_and_negations_grammatical() -> None:
    assert obligation("Do not share card numbers") == "You MUST NOT share card numbers"
    assert obligation("After a refund, send a receipt") == "After a refund, you MUST send a receipt"
    assert obligation("The summary must cite sources") == "The summary must cite sources"
