"""What fills a fix pattern's template: the rule, its condition, an example, the ignored rule.

A fix is text that goes into someone's production prompt, so every slot is written to be read
aloud: the rule is the expected behaviour made general (the case's names, ids and amounts removed,
``rule_text.general_rule``) with the situation it applies to; when no general rule can be formed
it is the failure type's method, a general way of working. The example slot is a real example:
the user's request from the trace (redacted) and the behaviour the expectation describes.
"""

from __future__ import annotations

import re

from ...knowledge.patterns import failure_text
from ...models.diagnosis import FailureType
from ...redaction import redact_text
from ...traces.model import RunKind, Trace
from ..analyser import AnalyserInput
from ..findings import FindingKind
from .case import Verdict
from .facts import TraceFacts, short
from .rule_text import general_rule, lower_first, obligation, readability_problems, requirement

_CONDITIONS = {
    FailureType.TOOL_ERROR: "If a tool call fails or returns an error, ",
    FailureType.INFRASTRUCTURE: "If a service or tool is unavailable or times out, ",
    FailureType.RETRIEVAL_ISSUE: "If the retrieved documents do not contain what was asked, ",
    FailureType.ORCHESTRATION_ISSUE: "If you are repeating a step without progress, ",
}
_SITUATIONS = ("if", "when", "whenever", "unless", "before", "after", "for", "once")
_CASE_CHARS = 4000
_EXAMPLE_CHARS = 240
_LOOP_KINDS = {FindingKind.LOOP_TOOL_CALL, FindingKind.REPEATED_OUTPUT}
_LIST_MARK = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")


def case_text(trace: Trace, facts: TraceFacts) -> str:
    """The conversation's own text: a value found here belongs to this case, not to a policy."""
    outputs = [r.output_text[:_CASE_CHARS] for r in trace if r.kind is not RunKind.LLM]
    return "\n".join([facts.user_input, facts.final_text, *outputs])


def template_slots(data: AnalyserInput, facts: TraceFacts, verdict: Verdict) -> dict[str, str]:
    """Every placeholder of ``patterns.yaml`` filled for this case."""
    text = failure_text(verdict.failure_type)
    case = case_text(data.trace, facts)
    rule = general_rule(data.expected, case)
    specific = rule.specific or bool(readability_problems(rule.text, data.expected, case))
    req = text.method if specific else rule.text
    condition = "" if specific else _condition(req, verdict)
    stated = condition + (lower_first(req) if condition else req)
    return {
        "requirement": req,
        "requirement_lower": lower_first(req),
        "obligation": obligation(stated),
        "rule": stated,
        "rule_lower": lower_first(stated),
        "why": text.why,
        "method": text.method,
        "tool_clause": f" (such as {verdict.tool})" if verdict.tool else "",
        "example": example(facts.user_input, _situation(verdict), _described(data.expected)),
        "existing_rule": "",
        "expected": data.expected.strip(),
    }


def restated(rule: str) -> str:
    """An existing prompt sentence as it is restated: no list marker, a final full stop."""
    text = _LIST_MARK.sub("", rule).strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def redacted(text: str) -> str:
    """``text`` with keys, emails, phone and card numbers as readable placeholders."""
    return redact_text(text)


def example(user_input: str, situation: str, behaviour: str) -> str:
    """A worked example: the request from the trace and the expected behaviour; empty if none."""
    request = short(redacted(user_input), _EXAMPLE_CHARS).replace('"', "'")
    if not request:
        return ""
    lines = [f'User: "{request}"']
    if situation:
        lines.append(f"({situation})")
    lines.append(f"Right response: {behaviour.rstrip('.')}.")
    return "\n".join(lines)


def _described(expected: str) -> str:
    """The response the expectation describes, for an example: concrete, values kept."""
    return lower_first(requirement(expected))


def _situation(verdict: Verdict) -> str:
    if verdict.tool and (verdict.fabricated or verdict.failure_type is FailureType.TOOL_ERROR):
        return f"the {verdict.tool} call fails"
    if verdict.failure_type is FailureType.RETRIEVAL_ISSUE:
        return "the retrieved documents do not hold the answer"
    return ""


def _condition(req: str, verdict: Verdict) -> str:
    if req.split(" ", 1)[0].lower() in _SITUATIONS or " must " in req:
        return ""
    kinds = {f.kind for f in verdict.findings}
    if kinds & {FindingKind.UNKNOWN_TOOL, FindingKind.BAD_TOOL_ARGUMENTS}:
        return "When you call tools, "
    if verdict.failure_type is FailureType.ORCHESTRATION_ISSUE and not kinds & _LOOP_KINDS:
        return ""
    if verdict.fabricated or verdict.failure_type in _CONDITIONS:
        return _CONDITIONS.get(verdict.failure_type, _CONDITIONS[FailureType.TOOL_ERROR])
    return ""
