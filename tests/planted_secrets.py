"""Fourteen kinds of sensitive value, planted in traces by the redaction tests.

Each kind has the text a trace would hold (an assignment, a sentence, a block) and the values that
must never leave it. The keys are shaped like real ones but were generated at random for these
tests: none of them is, or was, a live credential.
"""

from __future__ import annotations

import json
from typing import Any

PEM_BODY = (
    "5ciV8TJKmjy/nHGIKCoWXQffPWGVUqr4OfbLzIEVa1t/dRWQs5v1ogeve/s0idVG",
    "w6r014gwP8Ku3TnwQbRy3gKaUxY0XhP8e6J4ddNpkkuwBcMB/e9xD4N04FtiDKpf",
    "X85m4kTx3u+zdvMPzGhA8jmg3BqPYvu1olgLuhMOtxKd0YOdyiE/dN0RmpTD6Guj",
)
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(PEM_BODY) + "\n-----END RSA PRIVATE KEY-----"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1XzQ4MTUiLCJyb2xlIjoiYWRtaW4ifQ"
    ".Qm9vS3lZbWxhN2RfX3NpZ25hdHVyZV9wYXJ0XzQy"
)

PLANTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "openai key": (
        "OPENAI_API_KEY=sk-proj-Q2xV9rT4mN8bL1kJ6hG3fD5sA7pZ0wYcE1uI",
        ("sk-proj-Q2xV9rT4mN8bL1kJ6hG3fD5sA7pZ0wYcE1uI",),
    ),
    "anthropic key": (
        "ANTHROPIC_API_KEY=sk-ant-api03-Xk29fLq0Zr7TnB4wV8cY1mJ5pD3sH6gA9uE2iOkQ7vR1tW4yB8nC0xM",
        ("sk-ant-api03-Xk29fLq0Zr7TnB4wV8cY1mJ5pD3sH6gA9uE2iOkQ7vR1tW4yB8nC0xM",),
    ),
    "aws access key id": ("aws_access_key_id=AKIAZ3MHALFW7QKXN4PB", ("AKIAZ3MHALFW7QKXN4PB",)),
    "aws secret access key": (
        "aws_secret_access_key=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",
        ("CAsYpJj3k93nnIqOH37k9BlzWfT3/ucPCd5WLXny",),
    ),
    "github token": (
        "GITHUB_TOKEN=ghp_OkvnOtIyX51eY4L8yu8ZhJphUIEvcwBDXAe6",
        ("ghp_OkvnOtIyX51eY4L8yu8ZhJphUIEvcwBDXAe6",),
    ),
    "slack token": (
        "SLACK_BOT_TOKEN=xoxb-2048-5150-aZ8kQ0vL3nX7pR2mT9cY4wB6",
        ("xoxb-2048-5150-aZ8kQ0vL3nX7pR2mT9cY4wB6",),
    ),
    "jwt": (f"session cookie {JWT}", (JWT, JWT.rsplit(".", 1)[1])),
    "private key": (f"deploy key:\n{PEM}", PEM_BODY),
    "password in url": (
        "DATABASE_URL=postgres://admin:Tr0ub4dor-Zebra-93@db.internal.example.com:5432/prod",
        ("Tr0ub4dor-Zebra-93",),
    ),
    "card number": ("my card is 4111 1111 1111 1111", ("4111 1111 1111 1111", "4111111111111111")),
    "iban": ("refund to IBAN DE89 3704 0044 0532 0130 00", ("DE89 3704 0044 0532 0130 00",)),
    "ssn": ("my SSN is 536-22-1847", ("536-22-1847",)),
    "email": ("write to maria.lopez@example.org", ("maria.lopez@example.org",)),
    "phone": ("call me on +1 415-555-0143", ("+1 415-555-0143",)),
}
"""kind → (text holding it, values that must never be written or sent)."""

ALL_TEXT = "\n".join(text for text, _ in PLANTED.values())
VALUES = tuple(value for _, values in PLANTED.values() for value in values)

SYSTEM_PROMPT = (
    "You are Skye, the weather assistant of a travel app.\n"
    "Always call the get_weather tool for the city the user names.\n"
    "Give the temperature in both Celsius and Fahrenheit.\n"
)
EXPECTED = "should say the weather service is unavailable instead of guessing"
PLACES = ("user message", "tool output", "system prompt")
MORE_PLACES = ("tool arguments", "final answer")
"""Where else a trace holds text: only an LLM is shown these."""


def planted_trace(place: str, text: str = ALL_TEXT) -> dict[str, Any]:
    """A weather agent's transcript whose tool failed, with ``text`` in ``place``."""

    def plant(base: str, where: str) -> str:
        return f"{base}\n{text}" if where == place else base

    arguments = {"city": "Lisbon", **({"note": text} if place == "tool arguments" else {})}
    call = {"name": "get_weather", "arguments": json.dumps(arguments)}
    return {
        "messages": [
            {"role": "system", "content": plant(SYSTEM_PROMPT, "system prompt")},
            {"role": "user", "content": plant("What's the weather in Lisbon?", "user message")},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": call}],
            },
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": plant(
                    "Error: 503 Service Unavailable (upstream timed out)", "tool output"
                ),
            },
            {
                "role": "assistant",
                "content": plant("It's 21°C (70°F) and sunny in Lisbon right now.", "final answer"),
            },
        ]
    }


def leaks(text: str) -> list[str]:
    """The planted kinds whose values occur in ``text`` (JSON-escaped forms included)."""
    return [
        kind
        for kind, (_, values) in PLANTED.items()
        if any(v in text or json.dumps(v)[1:-1] in text for v in values)
    ]
