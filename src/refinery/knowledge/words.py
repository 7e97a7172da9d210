"""Word lists as data, matched on whole words: the one way analysis asks "does this text say X".

A list in ``word_lists.yaml`` becomes one case-insensitive pattern with word boundaries on both
sides, so that "count" never matches "account"; an entry ending in ``*`` matches any ending.
Identifiers (tool names) are split into words first, so "web_search" holds "search".
"""

from __future__ import annotations

import re
from functools import cache

from .data import load_data

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[_\-./:]+")


@cache
def word_pattern(name: str) -> re.Pattern[str]:
    """The whole-word pattern of the list ``name`` of ``word_lists.yaml``."""
    entries = load_data(__package__, "word_lists.yaml")[name]
    alternatives = sorted((_entry(str(e)) for e in entries), key=len, reverse=True)
    return re.compile(rf"\b(?:{'|'.join(alternatives)})\b", re.I)


def _entry(entry: str) -> str:
    stem = entry.rstrip("*")
    words = r"\s+".join(re.escape(w) for w in stem.split())
    return words + r"\w*" if entry.endswith("*") else words


def says(name: str, text: str) -> bool:
    """True when ``text`` holds a word or phrase of the list ``name``."""
    return word_pattern(name).search(text) is not None


def identifier_words(name: str) -> str:
    """An identifier as words: "webSearch_v2" -> "web Search v2"."""
    return _SEPARATORS.sub(" ", _CAMEL.sub(" ", name))
