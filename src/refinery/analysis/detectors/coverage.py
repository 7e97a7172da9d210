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

import re
from collections.abc import Iterator

from ...traces.model import Run, RunKind, Trace
from ..findings import DetectorInput, Finding, FindingKind, Severity, detector
from ..structured import prompt_text
from .excerpts import EVIDENCE_CHARS, finding, head, string_leaves, window
from .figures import figure_list, figures
from .prompt_rules import (
    Expectation,
    RuleMatch,
    covering_rule,
    expectation,
    nearest_statement,
    needed,
)
from .terms import Token, tokens, vocabulary


def system_prompts(trace: Trace) -> Iterator[tuple[Run, str]]:
    """(first run, text) of each distinct non-blank system or developer message of the trace."""
    seen: set[str] = set()
    for run in trace.runs:
        for message in run.input_messages:
            if (
                message.role in ("system", "developer")
                and message.content.strip()
                and message.content not in seen
            ):
                seen.add(message.content)
                yield run, message.content


def _anchor(trace: Trace) -> Run:
    return next((run for run in trace.runs if run.kind is RunKind.LLM), trace.root)


def prompt_sources(data: DetectorInput) -> list[tuple[str, str]]:
    """(run id or file path, text) of the prompts the model saw.

    The trace's system messages when it recorded any (what production ran), else the prompt text
    of the project's prompt files. The offline verdict reads the same list.
    """
    seen = [(run.id, text) for run, text in system_prompts(data.trace)]
    return seen or [(path, prompt_text(path, content)) for path, content in data.prompt_texts]


def _prompt_findings(data: DetectorInput, wanted: Expectation) -> Iterator[Finding]:
    prompts = list(system_prompts(data.trace))
    rule = covering_rule(data.expected, prompt_sources(data))
    if rule is not None:
        yield _covered(data, rule)
        return
    where = "no system prompt in the trace or prompt file" if not prompt_sources(data) else ""
    message = f"{where or 'no prompt rule'} addresses the expected behaviour"
    yield _uncovered(data.trace, prompts, wanted, f"{message} ({wanted.describe(wanted.terms)})")


def _uncovered(
    trace: Trace, prompts: list[tuple[Run, str]], wanted: Expectation, message: str
) -> Finding:
    """The absence finding, quoting the nearest relevant system-prompt sentence if any."""
    near = [(p, run) for run, text in prompts if (p := nearest_statement(text, wanted.terms))]
    best = max(near, key=lambda item: len(wanted.terms & item[0].concepts), default=None)
    kind = FindingKind.EXPECTATION_NOT_IN_PROMPT
    if best is None:
        anchor = prompts[0][0] if prompts else _anchor(trace)
        return finding(kind, Severity.MEDIUM, anchor, message)
    passage, run = best
    return finding(kind, Severity.MEDIUM, run, message, head(passage.text))


def _covered(data: DetectorInput, rule: RuleMatch) -> Finding:
    holder = data.trace.get(rule.source)
    kind = FindingKind.EXPECTATION_IN_PROMPT
    if holder is None:
        name = rule.source
        message = f"{name} has a rule for the expected behaviour: {rule.text[:200]!r}"
        return finding(kind, Severity.INFO, _anchor(data.trace), message)
    message = f"the system prompt of run {holder.id} has a rule for the expected behaviour"
    return finding(kind, Severity.INFO, holder, message, rule.text[:EVIDENCE_CHARS])


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
    if wanted.forbidden and len(bad) >= needed(wanted.forbidden):
        span = _first_span(found, bad) or (0, 0)
        message = f"the final output contains what it should not ({wanted.describe(bad)})"
        yield finding(
            FindingKind.EXPECTATION_NOT_MET, Severity.MEDIUM, run, message, window(text, *span)
        )
        return
    if not wanted.required:
        return
    missing = wanted.required - said
    if len(wanted.required) - len(missing) < needed(wanted.required):
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
