"""Prompt drift: the prompt the model saw differs from the project prompt file it came from.

Production often runs another prompt than the repository holds (an older deploy, a hot-fix made
in a dashboard, a template filled at run time). When that is so, the diagnosis is about a prompt
nobody can edit from the repository, which is often the whole story.

Each distinct system prompt of the trace is matched to the most similar prompt file by the overlap
of their word triples (Dice coefficient); a pair that is alike enough to be versions of one prompt,
but not the same, is reported with the sentences only one of them holds. Template placeholders in
the file (``{name}``, ``{{name}}``, ``$name``, ``<name>``) match any words, so a filled template is
not drift. Sentences are compared by their words (``prompt_rules.normalised``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ...traces.model import Run
from ..findings import DetectorInput, Finding, FindingKind, Severity, detector
from ..structured import prompt_text
from .coverage import system_prompts
from .excerpts import EVIDENCE_CHARS, finding
from .prompt_rules import normalised, sentences

_SAME_PROMPT = 0.35
"""Least word-triple overlap for two texts to be versions of one prompt."""
_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}|\{[A-Za-z_][\w.]*\}|\$\{?[A-Za-z_]\w*\}?|<[A-Za-z_]\w*>")
_SEARCHED = 50_000
"""Longest prompt searched for a sentence inside another; longer ones compare whole sentences."""
_SHOWN = 3
"""Sentences quoted per side in the message."""


@dataclass(frozen=True, kw_only=True)
class _Diff:
    path: str
    similarity: float
    only_seen: tuple[str, ...]
    """Sentences of the prompt the model saw that the file does not hold."""
    only_file: tuple[str, ...]
    """Sentences of the file that the model did not see."""


def _triples(text: str) -> set[tuple[str, ...]]:
    words = normalised(_PLACEHOLDER.sub(" ", text)).split()
    if len(words) < 3:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def similarity(one: str, other: str) -> float:
    """How alike two prompts are: the Dice coefficient of their word triples (0 to 1)."""
    a, b = _triples(one), _triples(other)
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _template(sentence: str) -> re.Pattern[str] | None:
    """A file sentence with placeholders as a pattern over normalised text, else None."""
    parts = _PLACEHOLDER.split(sentence)
    if len(parts) == 1:
        return None
    words = [re.escape(normalised(p)) for p in parts]
    return re.compile(r"(?:^| )" + r"\b.*?\b".join(w for w in words) + r"(?: |$)")


def _only_in(text: str, other: str) -> tuple[str, ...]:
    """Sentences of ``text`` whose words are no sentence (nor part of one) of ``other``."""
    held = {normalised(s) for s in sentences(other)}
    joined = " " + " ".join(held) + " " if len(other) <= _SEARCHED else ""
    return tuple(
        s
        for s in sentences(text)
        if (n := normalised(s)) and n not in held and f" {n} " not in joined
    )


def _only_in_file(file: str, seen: str) -> tuple[str, ...]:
    have = " " + " ".join(normalised(s) for s in sentences(seen)) + " "
    missing = []
    for sentence in _only_in(file, seen):
        pattern = _template(sentence)
        if pattern is None or not pattern.search(have):
            missing.append(sentence)
    return tuple(missing)


def _only_seen(seen: str, file: str) -> tuple[str, ...]:
    patterns = [p for s in sentences(file) if (p := _template(s))]
    return tuple(
        s for s in _only_in(seen, file) if not any(p.search(f" {normalised(s)} ") for p in patterns)
    )


def compare(seen: str, files: list[tuple[str, str]]) -> _Diff | None:
    """The drift between a prompt the model saw and the most similar file, or None."""
    scored = [(similarity(seen, text), path, text) for path, text in files if text.strip()]
    best = max(scored, key=lambda item: item[0], default=None)
    if best is None or best[0] < _SAME_PROMPT:
        return None
    score, path, text = best
    diff = _Diff(
        path=path,
        similarity=score,
        only_seen=_only_seen(seen, text),
        only_file=_only_in_file(text, seen),
    )
    return diff if diff.only_seen or diff.only_file else None


def _quoted(found: tuple[str, ...]) -> str:
    shown = "; ".join(f'"{s}"' for s in found[:_SHOWN])
    more = len(found) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _drift_finding(run: Run, diff: _Diff) -> Finding:
    parts = [
        f"the system prompt the model saw differs from {diff.path} "
        f"({diff.similarity:.0%} alike): production ran another version than the file holds"
    ]
    if diff.only_seen:
        parts.append(f"only in what the model saw: {_quoted(diff.only_seen)}")
    if diff.only_file:
        parts.append(f"only in {diff.path}: {_quoted(diff.only_file)}")
    evidence = diff.only_seen[0][:EVIDENCE_CHARS] if diff.only_seen else ""
    return finding(FindingKind.PROMPT_DRIFT, Severity.MEDIUM, run, "; ".join(parts), evidence)


@detector
def prompt_drift(data: DetectorInput) -> Iterator[Finding]:
    """The prompt the model saw is a different version of a project prompt file."""
    if not data.prompt_texts:
        return
    files = [(path, prompt_text(path, content)) for path, content in data.prompt_texts]
    for run, seen in system_prompts(data.trace):
        diff = compare(seen, files)
        if diff is not None:
            yield _drift_finding(run, diff)
