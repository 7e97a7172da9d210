"""Prompt rules: the one reading of a prompt's sentences, shared by detectors, verdict and fixes.

A prompt is read as sentences, and each sentence as the concepts of ``terms`` (the lexicon in
``knowledge/coverage_terms.yaml``, matched on whole words). Every question asked of a prompt goes
through here, so that the detectors, the verdict and the fixes never disagree about what a prompt
says: which sentence covers the expectation (``covering_rule``), which sentence is a rule about
failures (``failure_rule``), and whether a file holds a given rule (``holds_rule``).

An expectation is split into what it requires and what it forbids: after a negation ("should not
guess") the rest of the clause is forbidden content.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from .terms import tokens, vocabulary

SENTENCE = re.compile(r"[^\n.!?]+[.!?]*")
_LABEL = re.compile(r"^#+\s|^\W*+(?:[^\s:]+\s+){0,3}[^\s:]+:\W*$")
"""A markdown heading, or a few words ending in a colon: it introduces text but states no rule."""
_IMPERATIVE = re.compile(
    r"\b(?:always|must|never|do not|don't|only|every|each|required?|mandatory|shall|"
    r"make sure|ensure|at all times)\b|^\s*(?:[-*\u2022]|\d+[.)])\s",
    re.I,
)
"""A prompt sentence that states a rule: an imperative word, or an item of a list of rules."""
_CLAUSE = re.compile(
    r"[.;:!?]|\b(?:but|instead|rather|whereas|otherwise)\b"
    r"|(?=\b(?:should|must|shall|will|needs? to|ha(?:s|ve) to|ought to|is expected to)\b)",
    re.I,
)
_MAX_CHARS = 200_000
_FAILURE_CONCEPTS = ("fail", "guess")
"""Concepts (synonym groups of the lexicon) that make a rule a rule about failures."""


@dataclass(frozen=True, kw_only=True)
class Expectation:
    """The expected behaviour as concepts: what the answer needs and what it must not contain."""

    required: frozenset[str]
    """Concepts of the positive clauses."""
    forbidden: frozenset[str]
    """Concepts of the negated clauses."""
    words: Mapping[str, str] = field(default_factory=dict)
    """Each concept as the user wrote it, for messages people read."""

    @property
    def terms(self) -> frozenset[str]:
        """Every concept the expectation is about."""
        return self.required | self.forbidden

    def describe(self, concepts: Iterable[str]) -> str:
        """The concepts in the user's own words, comma-separated."""
        return ", ".join(sorted({self.words.get(c, c) for c in concepts}))


@dataclass(frozen=True, kw_only=True)
class Passage:
    """A stretch of one or two adjacent sentences of a prompt, with the concepts it holds."""

    text: str
    concepts: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class RuleMatch:
    """A prompt sentence (or two) that states a rule, and where it is."""

    source: str
    """The run id of the system message, or the prompt file's path, that holds it."""
    text: str
    """The passage, verbatim."""
    whole: bool = True
    """True when it covers the whole expectation, False when one clause of it."""


def expectation(text: str) -> Expectation:
    """Sort the concepts of ``text``: after a negation, the rest of its clause is forbidden."""
    ignore = vocabulary().expectation_words
    required: set[str] = set()
    forbidden: set[str] = set()
    words: dict[str, str] = {}
    for clause in _CLAUSE.split(text):
        negated = False
        for token in tokens(clause):
            negated = negated or token.negation
            if not token.negation and token.term not in ignore:
                (forbidden if negated else required).add(token.term)
                words.setdefault(token.term, clause[token.start : token.end].lower())
    return Expectation(required=frozenset(required), forbidden=frozenset(forbidden), words=words)


def needed(terms: frozenset[str]) -> int:
    """How many of ``terms`` a text must hold to count as addressing them."""
    return len(terms) if len(terms) <= 2 else math.ceil(len(terms) * 2 / 3)


def sentences(text: str) -> list[str]:
    """The non-blank sentences of ``text`` (lines and full stops end a sentence), stripped."""
    return [s for m in SENTENCE.finditer(text[:_MAX_CHARS]) if (s := m.group().strip())]


@lru_cache(maxsize=8192)
def passage(text: str) -> Passage:
    """``text`` with its concepts."""
    return Passage(text=text, concepts=frozenset(t.term for t in tokens(text)))


def _passages(prompt: str) -> Iterator[Passage]:
    spans = [(m.start(), m.end()) for m in SENTENCE.finditer(prompt[:_MAX_CHARS])]
    spans = [(s, e) for s, e in spans if prompt[s:e].strip()]
    for index, (start, end) in enumerate(spans):
        for stop in (end, spans[index + 1][1] if index + 1 < len(spans) else None):
            if stop is not None:
                yield passage(prompt[start:stop].strip())


def best_passage(prompt: str, terms: frozenset[str]) -> tuple[int, Passage | None]:
    """The passage of ``prompt`` sharing most of ``terms`` (shortest on ties), and how many."""
    best: tuple[int, Passage | None] = (0, None)
    for candidate in _passages(prompt):
        score = len(terms & candidate.concepts)
        if score > best[0] or (
            score == best[0] and best[1] and len(candidate.text) < len(best[1].text)
        ):
            best = (score, candidate)
    return best


def nearest_statement(prompt: str, terms: frozenset[str]) -> Passage | None:
    """The sentence of ``prompt`` sharing most concepts with ``terms`` (shortest on ties).

    Only a sentence that shares at least one concept and is not a heading or label qualifies.
    """
    found = (passage(s) for s in sentences(prompt))
    relevant = [p for p in found if terms & p.concepts and not _LABEL.search(p.text)]
    return max(relevant, key=lambda p: (len(terms & p.concepts), -len(p.text)), default=None)


def _clauses(text: str) -> Iterator[frozenset[str]]:
    """The concepts of each positive clause of ``text`` that has at least three, figures aside."""
    ignore = vocabulary().expectation_words
    for clause in _CLAUSE.split(text):
        found = tokens(clause)
        if any(t.negation for t in found):
            continue
        concepts = frozenset(
            t.term for t in found if t.term not in ignore and not t.term[:1].isdigit()
        )
        if len(concepts) >= 3:
            yield concepts


def covering_rule(expected: str, prompts: Sequence[tuple[str, str]]) -> RuleMatch | None:
    """The prompt passage that already asks for the expected behaviour, or None.

    A passage covers it when it holds enough of the expectation's concepts; failing that, a
    sentence written as a rule that states most of one clause of the expectation covers that
    clause (an expectation often adds case detail to a rule the prompt states in general words);
    failing that, an expectation about failures or guessing is covered by the prompt's rule
    about failures.
    """
    wanted = expectation(expected)
    if not wanted.terms:
        return None
    scored = [(*best_passage(text, wanted.terms), source) for source, text in prompts]
    score, found, source = max(scored, key=lambda item: item[0], default=(0, None, ""))
    if found is not None and score >= needed(wanted.terms):
        return RuleMatch(source=source, text=found.text)
    for concepts in _clauses(expected):
        for source, text in prompts:
            score, found = best_passage(text, concepts)
            enough = score >= max(3, math.ceil(len(concepts) / 2))
            if found is not None and enough and _IMPERATIVE.search(found.text):
                return RuleMatch(source=source, text=found.text, whole=False)
    return failure_rule(prompts) if wanted.terms & _failure_concepts() else None


def _failure_concepts() -> frozenset[str]:
    words = vocabulary().words
    return frozenset(words.get(c, c) for c in _FAILURE_CONCEPTS)


def failure_rule(prompts: Sequence[tuple[str, str]]) -> RuleMatch | None:
    """The first prompt sentence stating what to do on failures or instead of guessing."""
    concepts = _failure_concepts()
    for source, text in prompts:
        for sentence in sentences(text):
            if passage(sentence).concepts & concepts and _IMPERATIVE.search(sentence):
                return RuleMatch(source=source, text=sentence, whole=False)
    return None


def normalised(sentence: str) -> str:
    """A sentence compared by its words only: case, spacing, list markers and punctuation go."""
    return " ".join(re.findall(r"[a-z0-9]+(?:'[a-z]+)?", sentence.lower()))


def holds_rule(text: str, rule: str) -> bool:
    """True when every sentence of ``rule`` is a sentence of ``text`` (words compared)."""
    have = {normalised(s) for s in sentences(text)}
    wanted = [normalised(s) for s in sentences(rule)]
    return bool(wanted) and all(w in have or any(w in h for h in have) for w in wanted if w)
