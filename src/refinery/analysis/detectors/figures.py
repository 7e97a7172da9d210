"""Figures in a text: numbers, amounts, dates' parts and codes like ``12B``, compared as values.

Words are compared as concepts, but a figure is right or wrong: "$4,120" and "4120.00" are the same
value, "15" and "14" are not, however many digits they share. A figure is normalised by dropping
currency signs and thousands separators and trailing decimal zeros; a letter glued to a number (a
seat, a row, a version) is kept, lower-cased.
"""

from __future__ import annotations

import re

_FIGURE = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?([a-z])?(?![\w])", re.I)


def figure_list(text: str) -> list[str]:
    """The figures of ``text`` in order of appearance, normalised, repeats kept once."""
    seen: dict[str, None] = {}
    for match in _FIGURE.finditer(text):
        whole, fraction, letter = match.group(1), match.group(2) or "", match.group(3) or ""
        value = whole.replace(",", "").lstrip("0") or "0"
        fraction = fraction.rstrip("0").rstrip(".")
        seen.setdefault(value + fraction + letter.lower(), None)
    return list(seen)


def figures(text: str) -> frozenset[str]:
    """The set of figures of ``text``."""
    return frozenset(figure_list(text))
