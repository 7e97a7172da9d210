"""Finding sensitive values in text: keys, tokens, private keys, card and account numbers, contacts.

The detectors are data (``detectors.yaml``): a name for refusals, a label for placeholders, whether
the value is a secret (refused in text Refinery adds) or personal data (replaced, never refused), a
pattern and an optional check (Luhn for cards, mod-97 for IBANs). ``find_sensitive`` returns
non-overlapping spans: where two detections overlap, the detector listed first keeps its span, so a
PEM block is replaced whole and never only its first line; spans from an extra finder (the
detect-secrets scanner) that reach past a detection are merged into it, never left half-replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from ..knowledge.data import load_data

SecretFinder = Callable[[str], Iterable[str]]
"""Returns secret values found in a text (a scanner's findings), for redaction."""

_HUMAN = re.compile(r"<[a-z][a-z ]{1,20}>")
_REVERSIBLE = re.compile(r"\[\[REDACTED_[A-Z_]+_\d+\]\]")
_EXTRA_MIN = 8
"""Shorter values from an extra finder are too likely to be ordinary words to replace."""


@dataclass(frozen=True, kw_only=True)
class Detector:
    """One kind of sensitive value."""

    name: str
    """What it is, in refusals (``AWS secret access key``)."""
    label: str
    """The placeholder's text: ``<label>``."""
    secret: bool
    """True: refused in added text; False (emails, phones): replaced, not refused."""
    pattern: re.Pattern[str]
    group: int = 0
    check: str | None = None

    def finds(self, text: str) -> Iterable[tuple[int, int]]:
        """The spans of the values this detector finds in ``text``."""
        for match in self.pattern.finditer(text):
            start, end = match.span(self.group)
            if start < end and _checked(self.check, text[start:end]):
                yield start, end


SECRET = Detector(name="secret", label="secret", secret=True, pattern=re.compile(r"(?!)"))
"""What the extra finder's values are called."""


@dataclass(frozen=True, kw_only=True)
class Detection:
    """A sensitive value found in a text."""

    start: int
    end: int
    detector: Detector


@cache
def detectors() -> tuple[Detector, ...]:
    """Every detector, in priority order."""
    return tuple(
        Detector(
            name=item["name"],
            label=item["label"],
            secret=bool(item["secret"]),
            pattern=re.compile(item["pattern"]),
            group=int(item.get("group", 0)),
            check=item.get("check"),
        )
        for item in load_data("refinery.redaction", "detectors.yaml")["detectors"]
    )


def find_sensitive(text: str, extra: SecretFinder | None = None) -> list[Detection]:
    """Non-overlapping detections in ``text``, in order; placeholders are never detected."""
    chosen: list[Detection] = []
    for detector in detectors():
        for start, end in detector.finds(text):
            if not _placeholder(text[start:end]):
                chosen = _add(
                    chosen, Detection(start=start, end=end, detector=detector), merge=False
                )
    for value in _extra_values(text, extra):
        for match in re.finditer(re.escape(value), text):
            found = Detection(start=match.start(), end=match.end(), detector=SECRET)
            chosen = _add(chosen, found, merge=True)
    return sorted(chosen, key=lambda d: d.start)


def _extra_values(text: str, extra: SecretFinder | None) -> list[str]:
    if extra is None:
        return []
    values = {v for v in extra(text) if len(v) >= _EXTRA_MIN and not _placeholder(v)}
    return sorted(values, key=len, reverse=True)


def _add(chosen: list[Detection], new: Detection, *, merge: bool) -> list[Detection]:
    """``chosen`` with ``new``: kept when free, dropped when covered, merged when asked."""
    hits = [d for d in chosen if d.start < new.end and new.start < d.end]
    if not hits:
        return [*chosen, new]
    if not merge or all(d.start <= new.start and new.end <= d.end for d in hits):
        return chosen
    first = min(hits, key=lambda d: d.start)
    union = Detection(
        start=min(new.start, first.start),
        end=max(new.end, *(d.end for d in hits)),
        detector=first.detector,
    )
    return [*(d for d in chosen if d not in hits), union]


def _placeholder(value: str) -> bool:
    return bool(_HUMAN.fullmatch(value) or _REVERSIBLE.fullmatch(value))


def _checked(check: str | None, value: str) -> bool:
    if check == "luhn":
        return _luhn_ok(value)
    if check == "iban":
        return _iban_ok(value)
    return True


def _luhn_ok(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if index % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def _iban_ok(value: str) -> bool:
    """ISO 13616: the country and check digits moved to the end, read base 36, mod 97 is 1."""
    compact = value.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
