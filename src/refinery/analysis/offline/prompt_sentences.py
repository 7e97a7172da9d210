"""Lexical coverage: which prompt sentence, if any, already says what the expectation asks.

The offline analyser needs the sentence itself (to quote it as evidence and to restate it), so it
splits each prompt into sentences and scores them by shared content words after light stemming. The
detectors decide coverage for the diagnosis; this module finds the words to point at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

_WORD = re.compile(r"[a-z][a-z']+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_STOP = frozenset((
    "the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with",
    "from", "by", "about", "into", "than", "then", "that", "this", "these", "those", "is",
    "are", "was", "were", "be", "been", "being", "it", "its", "as", "should", "must",
    "would", "could", "will", "shall", "can", "may", "might", "have", "has", "had", "do",
    "does", "did", "not", "no", "never", "any", "all", "some", "such", "very", "just",
    "also", "only", "when", "if", "else", "so", "what", "which", "who", "whom", "whose",
    "how", "why", "where", "there", "their", "they", "them", "you", "your", "yours", "user",
    "users", "agent", "bot", "assistant", "model", "answer", "reply", "respond", "response",
    "instead",
))  # fmt: skip
_FAILURE_WORDS = re.compile(
    r"\b(fail\w*|errors?|unavailable|outage|guess\w*|invent\w*|make (?:things |anything )?up|"
    r"fabricat\w*|hallucinat\w*|do not know|don't know)\b",
    re.I,
)


def content_words(text: str) -> set[str]:
    """Lower-case, lightly stemmed words of ``text`` that carry meaning."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def covering_sentence(
    expected: str, prompts: Iterable[tuple[str, str]], threshold: float = 0.5
) -> tuple[str, str] | None:
    """(source id, sentence) of the prompt sentence sharing most of the expectation's words."""
    wanted = content_words(expected)
    if not wanted:
        return None
    best: tuple[float, str, str] | None = None
    for source, sentence in _sentences(prompts):
        score = len(wanted & content_words(sentence)) / len(wanted)
        if score >= threshold and (best is None or score > best[0]):
            best = (score, source, sentence)
    return (best[1], best[2]) if best else None


def failure_rule(prompts: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """(source id, sentence) of the first prompt sentence about failures or guessing, or None."""
    return next(((s, t) for s, t in _sentences(prompts) if _FAILURE_WORDS.search(t)), None)


def _sentences(prompts: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    for source, text in prompts:
        for match in _SENTENCE.finditer(text):
            sentence = match.group().strip()
            if len(sentence) > 3:
                yield source, sentence


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word
