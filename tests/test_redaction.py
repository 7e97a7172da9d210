from __future__ import annotations

import pytest

from refinery.redaction import Redactor

SENSITIVE = {
    "email": "bob.smith@example.com",
    "phone": "+1 415-555-0132",
    "openai key": "sk-proj-abcdefghijklmnopqrstuvwxyz123",
    "aws key": "AKIAIOSFODNN7EXAMPLE",
    "card": "4111 1111 1111 1111",
}


@pytest.mark.parametrize("label", sorted(SENSITIVE))
def test_sensitive_values_never_survive_redaction(label: str) -> None:
    value = SENSITIVE[label]
    redactor = Redactor()
    text = f"before {value} after"
    redacted = redactor.redact(text)
    assert value not in redacted
    assert "[[REDACTED_" in redacted
    assert redactor.restore(redacted) == text


def test_same_value_gets_the_same_placeholder_and_ordinary_numbers_stay() -> None:
    redactor = Redactor()
    text = "mail a@b.io twice: a@b.io; order 12345 on 2024-05-15 15:00:00; card 4111 1111 1111 1112"
    redacted = redactor.redact(text)
    assert redacted.count("[[REDACTED_EMAIL_1]]") == 2
    assert "order 12345 on 2024-05-15 15:00:00" in redacted
    assert "4111 1111 1111 1112" in redacted  # fails the Luhn check: not a card
    assert redactor.count == 1


def test_extra_finder_from_a_secret_scanner_is_honoured() -> None:
    redactor = Redactor(extra_finder=lambda text: ["hunter2hunter2"] if "hunter2" in text else [])
    assert "hunter2hunter2" not in redactor.redact('password = "hunter2hunter2"')


def test_restore_leaves_unknown_placeholders_alone() -> None:
    assert Redactor().restore("[[REDACTED_KEY_9]]") == "[[REDACTED_KEY_9]]"
