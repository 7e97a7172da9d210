"""Placeholders for sensitive values: reversible ones for an LLM, readable ones for files.

Before an LLM call each value becomes ``[[REDACTED_<LABEL>_<n>]]``; the same value always gets the
same placeholder, so the model can still reason about it. What comes back keeps those placeholders
until the caller decides, value by value, whether the original may return (``restore``, only for
edit text whose file already holds the value) or the reader sees ``<email>``, ``<api key>``
(``humanise``). Text that goes straight into a file uses ``redact``: readable placeholders at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .detectors import Detection, SecretFinder, find_sensitive
from .scanner import scanner_values

_PLACEHOLDER = re.compile(r"\[\[REDACTED_([A-Z_]+)_\d+\]\]")


class Redactor:
    """Replaces sensitive values with stable placeholders and can put them back."""

    def __init__(self, extra_finder: SecretFinder | None = None) -> None:
        self._by_value: dict[str, str] = {}
        self._originals: dict[str, tuple[str, str]] = {}
        """placeholder → (value, label)."""
        self._extra_finder = extra_finder

    @property
    def count(self) -> int:
        """How many distinct values were redacted."""
        return len(self._by_value)

    def redact(self, text: str) -> str:
        """``text`` with every sensitive value replaced by its reversible placeholder."""
        return _replaced(text, find_sensitive(text, self._extra_finder), self._placeholder)

    def restore(self, text: str, keep: Callable[[str], bool] = lambda value: True) -> str:
        """Originals back where ``keep`` accepts the value; readable placeholders elsewhere."""

        def original(match: re.Match[str]) -> str:
            found = self._originals.get(match.group(0))
            if found is None:
                return match.group(0)
            value, label = found
            return value if keep(value) else f"<{label}>"

        return _PLACEHOLDER.sub(original, text)

    def humanise(self, text: str) -> str:
        """Every placeholder replaced by its readable form (``<email>``), never the value.

        One the model made up (not ours) reads as its tag says, so none reaches a file as is.
        """
        known = self.restore(text, keep=lambda value: False)
        return _PLACEHOLDER.sub(lambda m: f"<{m.group(1).lower().replace('_', ' ')}>", known)

    def _placeholder(self, detection: Detection, value: str) -> str:
        if value not in self._by_value:
            label = detection.detector.label
            tag = label.upper().replace(" ", "_")
            placeholder = f"[[REDACTED_{tag}_{len(self._by_value) + 1}]]"
            self._by_value[value] = placeholder
            self._originals[placeholder] = (value, label)
        return self._by_value[value]


def redact(text: str, extra_finder: SecretFinder | None = None) -> str:
    """``text`` with every sensitive value replaced by a readable placeholder (``<api key>``)."""
    return _replaced(text, find_sensitive(text, extra_finder), lambda d, _: f"<{d.detector.label}>")


def text_redactor() -> Redactor:
    """A reversible redactor with every detector, detect-secrets included."""
    return Redactor(extra_finder=scanner_values)


def redact_text(text: str) -> str:
    """``text`` with readable placeholders, every detector (detect-secrets included) applied."""
    return redact(text, scanner_values)


def redact_texts(texts: Sequence[str]) -> list[str]:
    """``redact_text`` of each text, with one detect-secrets scan for all of them."""
    found = scanner_values("\n".join(texts)) if any(t.strip() for t in texts) else []

    def scanned(_: str) -> list[str]:
        return found

    return [redact(text, scanned) for text in texts]


def _replaced(
    text: str, detections: list[Detection], placeholder: Callable[[Detection, str], str]
) -> str:
    parts: list[str] = []
    position = 0
    for detection in detections:
        parts.append(text[position : detection.start])
        parts.append(placeholder(detection, text[detection.start : detection.end]))
        position = detection.end
    parts.append(text[position:])
    return "".join(parts)
