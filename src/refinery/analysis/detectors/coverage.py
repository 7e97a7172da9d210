"""Expected-behaviour coverage: does a prompt ask for it, and does the final answer do it?

The two answers decide the failure type: a rule nobody wrote is an ``instruction_gap``, a rule the
model ignored is ``instruction_not_followed``. Matching is lexical and explainable: words are
normalised by the vocabulary in ``knowledge/coverage_terms.yaml`` (stopwords, stems, synonym groups)
and compared as sets of concepts. A clause of the expectation under a negation ("should not guess")
names forbidden content: the answer fails it when the content appears, and is never declared to
pass it from mere absence, which lexical matching cannot prove.

A prompt that lacks the rule is quoted only where a sentence of it states something about one of
the expectation's concepts; a heading or label ("Task:", "## Output") names a concept but states
nothing, and an absence finding with no such sentence carries no evidence rather than a random one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from ...traces.model import Run, RunKind, Trace
from ..findings import DetectorInput, Finding, FindingKind, Severity, detector
from .excerpts import EVIDENCE_CHARS, finding, head, string_leaves, window
from .figures import figure_list, figures
from .terms import Token, tokens, vocabulary

_SENTENCE = re.compile(r"[^\n.!?]+[.!?]*")
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


def _needed(terms: frozenset[str]) -> int:
    return len(terms) if len(terms) <= 2 else math.ceil(len(terms) * 2 / 3)


@dataclass(frozen=True, kw_only=True)
class _Passage:
    """A stretch of one or two adjacent sentences of a prompt, with the concepts it holds."""

    text: str
    concepts: frozenset[str]


def _passage(text: str) -> _Passage:
    return _Passage(text=text, concepts=frozenset(t.term for t in tokens(text)))


def _passages(prompt: str) -> Iterator[_Passage]:
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(prompt) if m.group().strip()]
    for index, (start, end) in enumerate(spans):
        for stop in (end, spans[index + 1][1] if index + 1 < len(spans) else None):
            if stop is not None:
                yield _passage(prompt[start:stop].strip())


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


def _clause_rule(
    expected: str, sources: list[tuple[Run | None, str, str]]
) -> tuple[_Passage, Run | None, str] | None:
    """A rule sentence of a prompt stating most of one clause of the expectation.

    An expectation often adds case detail to the rule ("after patching the file, run the tests
    and report before closing the ticket"); a prompt states the rule in general words. A clause
    counts as covered when a sentence written as a rule holds half of its concepts (three at least).
    """
    for concepts in _clauses(expected):
        for run, name, text in sources:
            score, passage = _best_passage(text, concepts)
            enough = score >= max(3, math.ceil(len(concepts) / 2))
            if passage is not None and enough and _IMPERATIVE.search(passage.text):
                return passage, run, name
    return None


def _nearest_statement(prompt: str, terms: frozenset[str]) -> _Passage | None:
    """The sentence of ``prompt`` sharing most concepts with ``terms`` (shortest on ties).

    Only a sentence that shares at least one concept and is not a heading or label qualifies.
    """
    sentences = (_passage(m.group().strip()) for m in _SENTENCE.finditer(prompt[:200_000]))
    relevant = [p for p in sentences if terms & p.concepts and not _LABEL.search(p.text)]
    return max(relevant, key=lambda p: (len(terms & p.concepts), -len(p.text)), default=None)


def _best_passage(prompt: str, terms: frozenset[str]) -> tuple[int, _Passage | None]:
    best: tuple[int, _Passage | None] = (0, None)
    for passage in _passages(prompt[:200_000]):
        score = len(terms & passage.concepts)
        if score > best[0] or (
            score == best[0] and best[1] and len(passage.text) < len(best[1].text)
        ):
            best = (score, passage)
    return best


def _system_prompts(trace: Trace) -> Iterator[tuple[Run, str]]:
    seen: set[str] = set()
    for run in trace.runs:
        for message in run.input_messages:
            if message.role == "system" and message.content and message.content not in seen:
                seen.add(message.content)
                yield run, message.content


def _anchor(trace: Trace) -> Run:
    return next((run for run in trace.runs if run.kind is RunKind.LLM), trace.root)


def _prompt_findings(data: DetectorInput, wanted: Expectation) -> Iterator[Finding]:
    prompts = list(_system_prompts(data.trace))
    sources: list[tuple[Run | None, str, str]]
    sources = [(run, f"the system prompt of run {run.id}", text) for run, text in prompts]
    sources += [(None, path, text) for path, text in data.prompt_texts]
    scored = [(*_best_passage(text, wanted.terms), run, name) for run, name, text in sources]
    best = max(scored, key=lambda item: item[0], default=(0, None, None, ""))
    score, passage, run, name = best
    if passage is not None and score >= _needed(wanted.terms):
        yield _covered(data, prompts, passage, run, name)
        return
    ruled = _clause_rule(data.expected, sources)
    if ruled is not None:
        yield _covered(data, prompts, *ruled)
        return
    where = "no system prompt in the trace or prompt file" if not sources else "no prompt rule"
    message = f"{where} addresses the expected behaviour ({wanted.describe(wanted.terms)})"
    yield _uncovered(data.trace, prompts, wanted, message)


def _uncovered(
    trace: Trace, prompts: list[tuple[Run, str]], wanted: Expectation, message: str
) -> Finding:
    """The absence finding, quoting the nearest relevant system-prompt sentence if any."""
    near = [(p, run) for run, text in prompts if (p := _nearest_statement(text, wanted.terms))]
    best = max(near, key=lambda item: len(wanted.terms & item[0].concepts), default=None)
    if best is None:
        anchor = prompts[0][0] if prompts else _anchor(trace)
        return finding(FindingKind.EXPECTATION_NOT_IN_PROMPT, Severity.MEDIUM, anchor, message)
    passage, run = best
    evidence = head(passage.text)
    return finding(FindingKind.EXPECTATION_NOT_IN_PROMPT, Severity.MEDIUM, run, message, evidence)


def _covered(
    data: DetectorInput,
    prompts: list[tuple[Run, str]],
    passage: _Passage,
    run: Run | None,
    name: str,
) -> Finding:
    holder = run or next((r for r, text in prompts if passage.text in text), None)
    rule = passage.text[:EVIDENCE_CHARS]
    message = f"{name} has a rule for the expected behaviour"
    if holder is None:
        message = f"{name} has a rule for the expected behaviour: {rule[:200]!r}"
        return finding(
            FindingKind.EXPECTATION_IN_PROMPT, Severity.INFO, _anchor(data.trace), message
        )
    return finding(FindingKind.EXPECTATION_IN_PROMPT, Severity.INFO, holder, message, rule)


def final_output(trace: Trace) -> tuple[Run, str] | None:
    """The answer the trace ended with: the last LLM text, else the root's longest output string."""
    for run in reversed(trace.runs):
        if run.kind is RunKind.LLM and run.output_text.strip():
            return run, run.output_text
    root = trace.root
    texts = list(string_leaves(root.outputs))
    return (root, max(texts, key=len)) if texts else None


def _first_span(found: list[Token], terms: frozenset[str]) -> tuple[int, int] | None:
    return next(((t.start, t.end) for t in found if t.term in terms and t.start >= 0), None)


def _output_findings(trace: Trace, wanted: Expectation, expected: str) -> Iterator[Finding]:
    final = final_output(trace)
    if final is None:
        return
    run, text = final
    wrong = _wrong_figure(trace, run, text, expected)
    if wrong is not None:
        yield wrong
        message = "the final output states other figures than expected"
        yield finding(
            FindingKind.EXPECTATION_NOT_MET, Severity.MEDIUM, run, message, wrong.evidence
        )
        return
    found = tokens(text)
    said = {t.term for t in found}
    bad = wanted.forbidden & said
    if wanted.forbidden and len(bad) >= _needed(wanted.forbidden):
        span = _first_span(found, bad) or (0, 0)
        message = f"the final output contains what it should not ({wanted.describe(bad)})"
        yield finding(
            FindingKind.EXPECTATION_NOT_MET, Severity.MEDIUM, run, message, window(text, *span)
        )
        return
    if not wanted.required:
        return
    missing = wanted.required - said
    if len(wanted.required) - len(missing) < _needed(wanted.required):
        yield _unmet(run, text, found, missing, wanted)
        return
    span = _first_span(found, wanted.required) or (0, 0)
    message = "the final output appears to do what was expected (lexical match)"
    yield finding(FindingKind.EXPECTATION_MET, Severity.INFO, run, message, window(text, *span))


def _wrong_figure(trace: Trace, run: Run, text: str, expected: str) -> Finding | None:
    """The answer states figures, but not the expected result (its first or last figure).

    Figures the user's own request states are left out: the answer need not repeat them.
    """
    given = figures(_first_user_text(trace))
    wanted = [f for f in figure_list(expected) if f not in given]
    said = figure_list(text)
    if not wanted or not said or (wanted[0] in said and wanted[-1] in said):
        return None
    missing = [f for f in (wanted[0], wanted[-1]) if f not in said]
    message = (
        f"the final output states {', '.join(said[:4])} where {', '.join(missing)} was expected: "
        "a different figure is not the expected one, however many digits they share"
    )
    match = next((m for f in said if (m := re.search(_digits(f), text))), None)
    evidence = window(text, match.start(), match.end()) if match else head(text)
    return finding(FindingKind.WRONG_FIGURE, Severity.HIGH, run, message, evidence)


def _digits(figure: str) -> str:
    return re.escape(figure.rstrip("abcdefghijklmnopqrstuvwxyz")[:3])


def _first_user_text(trace: Trace) -> str:
    for run in trace.runs:
        for message in run.input_messages:
            if message.role in ("user", "human") and message.content.strip():
                return message.content
    return next(iter(string_leaves(trace.root.inputs)), "")


def _unmet(
    run: Run, text: str, found: list[Token], missing: frozenset[str], wanted: Expectation
) -> Finding:
    message = f"the final output lacks what was expected ({wanted.describe(missing)})"
    opposites = {vocabulary().antonyms[t] for t in missing if t in vocabulary().antonyms}
    span = _first_span(found, frozenset(opposites))
    if span is None:
        return finding(FindingKind.EXPECTATION_NOT_MET, Severity.MEDIUM, run, message, head(text))
    message += "; it says the opposite"
    return finding(
        FindingKind.EXPECTATION_NOT_MET, Severity.MEDIUM, run, message, window(text, *span)
    )


@detector
def expectation_coverage(data: DetectorInput) -> Iterator[Finding]:
    """Whether a prompt addresses the expectation, and whether the final output satisfies it."""
    if not data.expected.strip():
        return
    wanted = expectation(data.expected)
    if not wanted.terms:
        return
    yield from _prompt_findings(data, wanted)
    yield from _output_findings(data.trace, wanted, data.expected)
