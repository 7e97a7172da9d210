"""Concepts of a text: lowercased, contractions expanded, stemmed, synonyms merged, stopwords gone.

Coverage compares an expectation, prompts and answers as sets of concepts. The vocabulary
(stopwords, synonym groups, negations, antonyms) is data in ``knowledge/coverage_terms.yaml``; this
module only applies it. Every concept keeps the character span it came from, so evidence can quote
the original text around it. The stemmer is a deliberately small suffix stripper: both sides of a
comparison go through it, so consistency matters more than linguistic accuracy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from ...knowledge.data import load_data

_WORD = re.compile(r"[a-z0-9]+(?:['\u2019][a-z]+)*")
_SUFFIXES: tuple[tuple[str, str, int], ...] = (
    ("ations", "ate", 4),
    ("ation", "ate", 4),
    ("ments", "", 4),
    ("ment", "", 4),
    ("ness", "", 5),
    ("ying", "y", 2),
    ("ings", "", 3),
    ("ing", "", 3),
    ("ied", "y", 2),
    ("ies", "y", 2),
    ("ed", "", 3),
    ("es", "", 3),
    ("ly", "", 5),
    ("s", "", 3),
)
_SIBILANT = ("s", "x", "z", "ch", "sh")
_CONTRACTIONS = {"can't": ("cannot",), "cant": ("cannot",), "won't": ("will", "not")}
_NEGATION = "not"


@dataclass(frozen=True, kw_only=True)
class Token:
    """One concept found in a text, with the span of the words it came from (-1 when unknown)."""

    term: str
    start: int
    end: int
    negation: bool = False


@dataclass(frozen=True, kw_only=True)
class Vocabulary:
    """The coverage vocabulary, stemmed once."""

    stopwords: frozenset[str]
    expectation_words: frozenset[str]
    negations: frozenset[str]
    words: dict[str, str]
    """Stem → the concept of its synonym group."""
    phrases: dict[tuple[str, ...], str]
    """Stems of a several-word synonym → its concept."""
    antonyms: dict[str, str]
    """Concept → its opposite concept."""


def stem(word: str) -> str:
    """A crude, consistent stem: inflection and a few derivations stripped, -ize spelled -ise."""
    if len(word) <= 3 or not word.isalpha():
        return word
    word = word.replace("iz", "is")
    for suffix, replacement, shortest in _SUFFIXES:
        base = word[: -len(suffix)]
        if not word.endswith(suffix) or len(base) < shortest:
            continue
        if suffix == "s" and base[-1] in "sui":
            break
        if suffix == "es" and not base.endswith(_SIBILANT):
            base = word[:-1]
        word = base + replacement
        break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


def _split(raw: str) -> tuple[str, ...]:
    raw = raw.replace("\u2019", "'")
    if raw in _CONTRACTIONS:
        return _CONTRACTIONS[raw]
    if raw.endswith("n't"):
        return (raw[:-3], _NEGATION)
    return (raw.split("'")[0],)


def stems(text: str) -> list[tuple[str, int, int]]:
    """(stem, start, end) of every word of ``text``, contractions expanded."""
    lowered = text.lower()
    exact = len(lowered) == len(text)
    found: list[tuple[str, int, int]] = []
    for match in _WORD.finditer(lowered):
        start, end = (match.start(), match.end()) if exact else (-1, -1)
        found.extend((stem(part), start, end) for part in _split(match.group()) if part)
    return found


def tokens(text: str) -> list[Token]:
    """The concepts of ``text`` in order; negations are kept as tokens with ``negation=True``."""
    vocab = vocabulary()
    words = stems(text)
    found: list[Token] = []
    index = 0
    while index < len(words):
        size, term = _phrase_at(words, index, vocab)
        term_stem, start, _ = words[index]
        end = words[index + size - 1][2]
        index += size
        if term is None and term_stem in vocab.negations:
            found.append(Token(term=_NEGATION, start=start, end=end, negation=True))
        elif term is not None or (term_stem not in vocab.stopwords and len(term_stem) > 1):
            found.append(
                Token(term=term or vocab.words.get(term_stem, term_stem), start=start, end=end)
            )
    return found


def _phrase_at(
    words: list[tuple[str, int, int]], index: int, vocab: Vocabulary
) -> tuple[int, str | None]:
    for size in (4, 3, 2):
        key = tuple(word for word, _, _ in words[index : index + size])
        if len(key) == size and key in vocab.phrases:
            return size, vocab.phrases[key]
    return 1, None


@cache
def vocabulary() -> Vocabulary:
    """The vocabulary from ``knowledge/coverage_terms.yaml``, loaded and stemmed once."""
    data: dict[str, Any] = load_data("refinery.knowledge", "coverage_terms.yaml")
    words: dict[str, str] = {}
    phrases: dict[tuple[str, ...], str] = {}
    for group in data.get("synonyms", []):
        concept = "_".join(s for s, _, _ in stems(str(group[0])))
        for term in group:
            key = tuple(s for s, _, _ in stems(str(term)))
            if len(key) == 1:
                words[key[0]] = concept
            elif key:
                phrases[key] = concept
    return Vocabulary(
        stopwords=_stem_set(data.get("stopwords", [])),
        expectation_words=frozenset(words.get(s, s) for s in _stem_set(data["expectation_words"])),
        negations=_stem_set(data.get("negations", [])),
        words=words,
        phrases=phrases,
        antonyms=_antonyms(data.get("antonyms", []), words),
    )


def _stem_set(values: list[Any]) -> frozenset[str]:
    return frozenset(s for value in values for s, _, _ in stems(str(value)))


def _antonyms(pairs: list[list[Any]], words: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for first, second in (pair[:2] for pair in pairs if len(pair) >= 2):
        one, other = (
            words.get(stem(str(w).lower()), stem(str(w).lower())) for w in (first, second)
        )
        found[one], found[other] = other, one
    return found
