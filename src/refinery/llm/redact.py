"""Redaction before anything leaves the machine, with placeholders that can be reversed.

API keys and tokens (common key shapes, plus whatever the maintained secret scanner flags), emails,
phone numbers and payment-card numbers (Luhn-checked) become ``[[REDACTED_<KIND>_<n>]]``. The same
value always gets the same placeholder, so the model can still reason about it; ``restore`` puts the
originals back into what the model returns, so an edit never carries a placeholder into the user's
files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_KEY_SHAPES = (
    r"sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_\-]{20,}",  # OpenAI, Anthropic
    r"AKIA[0-9A-Z]{16}",  # AWS access key id
    r"AIza[0-9A-Za-z_\-]{35}",  # Google API key
    r"gh[pousr]_[A-Za-z0-9]{36,}",  # GitHub tokens
    r"xox[abposr]-[A-Za-z0-9\-]{10,}",  # Slack tokens
    r"lsv2_(?:pt|sk)_[A-Za-z0-9_]{20,}",  # LangSmith keys
    r"(?:pk|sk)-lf-[A-Za-z0-9\-]{8,}",  # Langfuse keys
    r"eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}",  # JWTs
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----",
    r"(?i:bearer)\s+[A-Za-z0-9_\-.=]{20,}",
)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("KEY", re.compile("|".join(f"(?:{p})" for p in _KEY_SHAPES))),
    ("EMAIL", re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")),
    ("CARD", re.compile(r"\b(?:\d[ \-]?){12,18}\d\b")),
    (
        "PHONE",
        re.compile(
            r"(?<![\w+])(?<!\d[ .\-])\+?\(?\d{1,3}\)?[ .\-]?\(?\d{2,4}\)?"
            r"[ .\-]\d{3,4}[ .\-]?\d{3,4}\b(?![ .\-]?\d)"
        ),
    ),
)
_PLACEHOLDER = re.compile(r"\[\[REDACTED_[A-Z]+_\d+\]\]")

SecretFinder = Callable[[str], Iterable[str]]


class Redactor:
    """Replaces sensitive values with stable placeholders and can put them back."""

    def __init__(self, extra_finder: SecretFinder | None = None) -> None:
        self._by_value: dict[str, str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._extra_finder = extra_finder

    @property
    def count(self) -> int:
        """How many distinct values were redacted."""
        return len(self._by_value)

    def redact(self, text: str) -> str:
        """``text`` with every sensitive value replaced by its placeholder."""
        if self._extra_finder is not None:
            for secret in self._extra_finder(text):
                if secret and len(secret) >= 8:
                    text = text.replace(secret, self._placeholder("KEY", secret))
        for kind, pattern in _PATTERNS:
            text = pattern.sub(lambda m, k=kind: self._replace(k, m.group(0)), text)  # type: ignore[misc]
        return text

    def restore(self, text: str) -> str:
        """``text`` with every known placeholder replaced by the original value."""
        return _PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), text)

    def _replace(self, kind: str, value: str) -> str:
        if _PLACEHOLDER.fullmatch(value):
            return value
        if kind == "CARD" and not _luhn_ok(value):
            return value
        return self._placeholder(kind, value)

    def _placeholder(self, kind: str, value: str) -> str:
        if value not in self._by_value:
            placeholder = f"[[REDACTED_{kind}_{len(self._by_value) + 1}]]"
            self._by_value[value] = placeholder
            self._by_placeholder[placeholder] = value
        return self._by_value[value]


def _luhn_ok(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if index % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0
