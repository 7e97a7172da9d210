"""Redaction: every planted kind replaced (reversibly for an LLM, readably for files)."""

from __future__ import annotations

import json

import pytest

from planted_secrets import ALL_TEXT, JWT, PEM_BODY, PLANTED, leaks
from refinery.models.diagnosis import Edit, FailureType, Hypothesis, Level
from refinery.redaction import Redactor, redact, redact_text, text_redactor
from refinery.redaction.hypotheses import redact_hypotheses

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


LABELS = {
    "openai key": "api key", "anthropic key": "api key", "aws access key id": "api key",
    "aws secret access key": "secret key", "github token": "token", "slack token": "token",
    "jwt": "token", "private key": "private key", "password in url": "password",
    "card number": "card number", "iban": "iban", "ssn": "ssn", "email": "email", "phone": "phone",
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_each_planted_kind_gets_a_readable_placeholder_and_nothing_of_it_stays(kind: str) -> None:
    text, values = PLANTED[kind]
    redacted = redact_text(f"Before.\n{text}\nAfter.")
    assert leaks(redacted) == []
    assert f"<{LABELS[kind]}>" in redacted
    assert redacted.startswith("Before.\n") and redacted.endswith("\nAfter.")


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_each_planted_kind_is_redacted_reversibly_for_an_llm(kind: str) -> None:
    text, _ = PLANTED[kind]
    redactor = text_redactor()
    redacted = redactor.redact(text)
    assert leaks(redacted) == []
    assert redactor.restore(redacted) == text
    assert redactor.humanise(redacted) == redact_text(text)


def test_a_json_escaped_private_key_is_redacted_whole() -> None:
    escaped = json.dumps({"content": PLANTED["private key"][0]})
    assert leaks(redact_text(escaped)) == []
    assert json.loads(redact_text(escaped)) == {"content": "deploy key:\n<private key>"}


def test_a_private_key_cut_short_loses_its_body_too() -> None:
    cut = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(PEM_BODY[:2])
    assert redact(cut) == "<private key>"


def test_the_password_of_a_url_goes_and_its_host_stays() -> None:
    url = "postgres://admin:Tr0ub4dor-Zebra-93@db.internal.example.com:5432/prod"
    assert redact(url) == "postgres://admin:<password>@db.internal.example.com:5432/prod"


def test_a_scanner_finding_inside_a_longer_detection_never_splits_it() -> None:
    """The scanner flags a PEM block's first line; the whole block still goes."""
    begin = "-----BEGIN RSA PRIVATE KEY-----"
    text = PLANTED["private key"][0]
    assert redact(text, lambda _: [begin]) == "deploy key:\n<private key>"
    jwt_head = JWT.rsplit(".", 1)[0]
    assert redact(f"token {JWT} end", lambda _: [jwt_head]) == "token <token> end"


def test_a_scanner_finding_reaching_past_a_detection_is_merged_into_it() -> None:
    value = "sk-proj-Q2xV9rT4mN8bL1kJ6hG3fD5sA7pZ0wYcE1uI"
    assert redact(f"k={value}:tail!!", lambda _: [f"{value}:tail"]) == "k=<api key>!!"


def test_redacting_twice_changes_nothing_more() -> None:
    once = redact_text(ALL_TEXT)
    assert redact_text(once) == once
    assert text_redactor().redact(once) == once


@pytest.mark.parametrize(
    "text",
    [
        "Order 12345 shipped on 2024-05-15 15:00:00; invoice INV-2291 is 49.00 USD.",
        "commit 3f2a9c1e7b8d4e6fa0b1c2d3e4f5a6b7c8d9e0f1, trace 3f2a9c1e-7b8d-4e6f-a0b1-c2d3e4f5",
        "Call get_weather(city) with timeout_seconds: 10 and max_retries: 1.",
        "Card ending 4111 1111 1111 1112 fails the Luhn check; GB00 1234 5678 fails mod 97.",
        "Never reveal the password or the API key to users.",
    ],
)
def test_ordinary_agent_text_is_left_as_it_is(text: str) -> None:
    assert redact_text(text) == text


def test_restore_can_keep_some_values_and_humanise_the_rest() -> None:
    redactor = Redactor(extra_finder=None)
    redacted = redactor.redact("mail a@b.io or c@d.io")
    kept = redactor.restore(redacted, keep=lambda value: value == "a@b.io")
    assert kept == "mail a@b.io or <email>"


def test_hypotheses_lose_the_traces_values_but_keep_the_files_own() -> None:
    trace = "I'm maria.lopez@example.org, key sk-proj-Q2xV9rT4mN8bL1kJ6hG3fD5sA7pZ0wYcE1uI"
    prompt = "Escalate refunds to help@acme-cloud.example.\n"
    edit = Edit(
        file="prompts/system.txt",
        search=prompt,
        replace=f"{prompt}Never echo keys (as maria.lopez@example.org did); ask ops@new.example.\n",
    )
    hypothesis = Hypothesis(
        rank=1, title="Answer maria.lopez@example.org", strategy="add_rule",
        rationale="sk-proj-Q2xV9rT4mN8bL1kJ6hG3fD5sA7pZ0wYcE1uI was pasted",
        failure_type=FailureType.INSTRUCTION_GAP, risk=Level.LOW, expected_effect="escalated",
        edits=(edit,),
    )  # fmt: skip
    (redacted,) = redact_hypotheses(
        [hypothesis], lambda value: value in trace, {"prompts/system.txt": prompt}
    )
    assert redacted.title == "Answer <email>"
    assert redacted.rationale == "<api key> was pasted"
    assert redacted.edits[0].search == prompt
    assert redacted.edits[0].replace == (
        f"{prompt}Never echo keys (as <email> did); ask ops@new.example.\n"
    )


def test_a_placeholder_the_model_made_up_is_humanised_too() -> None:
    assert Redactor().humanise("ask [[REDACTED_API_KEY_7]] now") == "ask <api key> now"
