"""Verdicts from word overlap: the expectation against the prompt the model saw and its answer.

When no deterministic finding decides, the offline analyser can only compare words: whether a
prompt sentence already asks for the expected behaviour (``prompt_rules.covering_rule``, the same
reading the coverage detector makes) and whether the answer holds it. Such a verdict is always
low confidence and says so (``Verdict.lexical``); when a prompt rule covers the expectation, it is
never called a missing rule.
"""

from __future__ import annotations

from ...knowledge.words import says
from ...models.diagnosis import FailureType, Level
from ..detectors.prompt_rules import RuleMatch, covering_rule, sentences
from ..findings import Finding, FindingKind
from .case import Case, Verdict
from .facts import short

_LONG_PROMPT = 40_000


def coverage_verdict(case: Case) -> Verdict | None:
    """The expectation is not met: a rule in the prompt (by word overlap) decides which failure."""
    not_met = case.of(FindingKind.EXPECTATION_NOT_MET)
    if not not_met:
        return None
    rule = covering_rule(case.expected, case.prompt_texts)
    if rule is not None:
        return _covered_verdict(case, (*case.of(FindingKind.EXPECTATION_IN_PROMPT), *not_met), rule)
    return Verdict(
        failure_type=FailureType.INSTRUCTION_GAP,
        rule="the answer lacks the expected behaviour and no prompt sentence addresses it "
        "(word overlap)",
        findings=(*case.of(FindingKind.EXPECTATION_NOT_IN_PROMPT), *not_met),
        confidence=Level.LOW,
        detail=_uncovered_detail(case),
        lexical=True,
    )


def _uncovered_detail(case: Case) -> str:
    count = sum(len(sentences(text)) for _, text in case.prompt_texts)
    if not count:
        return "the model had no system prompt, so nothing told it what to do here"
    return (
        f"none of the {count} sentences of its instructions addresses this situation, so the "
        "model fell back on its own defaults"
    )


def _covered_verdict(case: Case, findings: tuple[Finding, ...], rule: RuleMatch) -> Verdict:
    longest = max((len(text) for _, text in case.prompt_texts), default=0)
    if longest > _LONG_PROMPT:
        failure, why = FailureType.CONTEXT_ISSUE, "rule present but drowned in a very long prompt"
    elif says("reasoning_tasks", case.expected):
        failure, why = FailureType.MODEL_LIMITATION, "rule present, reasoning-type task not met"
    else:
        failure, why = FailureType.INSTRUCTION_NOT_FOLLOWED, "rule present in the prompt, not met"
    return Verdict(
        failure_type=failure,
        rule=f"{why} (word overlap)",
        findings=findings,
        confidence=Level.LOW,
        detail=f'"{short(rule.text, 160)}"',
        existing_rule=rule,
        lexical=True,
    )


def lexical_verdict(case: Case) -> Verdict:
    """The last resort when no rule matched: word overlap of the expectation and the prompt."""
    rule = covering_rule(case.expected, case.prompt_texts)
    if rule is not None:
        return _covered_verdict(case, tuple(case.of(FindingKind.EXPECTATION_IN_PROMPT)), rule)
    return Verdict(
        failure_type=FailureType.INSTRUCTION_GAP,
        rule="no detector finding; no prompt sentence addresses the expectation (word overlap)",
        findings=tuple(case.of(FindingKind.EXPECTATION_NOT_IN_PROMPT)),
        confidence=Level.LOW,
        detail=_uncovered_detail(case),
        lexical=True,
    )
