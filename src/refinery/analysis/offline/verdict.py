"""The offline analyser's decision: which failure type, by explicit rules tried in priority order.

Rules read the detectors' findings and the trace's structure, never example-specific content. The
first rule that matches decides (a cause outranks its symptoms):

1. provider errors (rate limit, timeout, 5xx) on a model call, or a service error that ended the run
   → infrastructure
2. the prompt near the context window, or a context-length error → context_issue
3. output cut at the token limit, or a parser failing on it → output_format
4. the same tool call or the same output repeated → orchestration_issue
5. a retriever (or search-like tool) that failed or came back empty → retrieval_issue
6. a tool that failed, was unknown or got bad arguments, or a failed intermediate step (an action
   such as code execution) the agent went on from → tool_error; but when the model then
   answered without admitting the failure although a prompt rule covers failures →
   instruction_not_followed
7. an empty final answer → orchestration_issue (premature stop; model_limitation when filtered)
8. expectation covered by the prompt but not met → instruction_not_followed (model_limitation for
   reasoning-type tasks, context_issue for very long prompts); not covered → instruction_gap
9. otherwise, lexical coverage of the expectation by the prompts decides, with low confidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ...knowledge.words import says
from ...models.diagnosis import FailureType, Level
from ...traces.model import Run, RunKind
from ..detectors.prompt_rules import failure_rule
from ..detectors.retrieval import is_retrieval
from ..findings import Finding, FindingKind
from .case import Case, Verdict
from .facts import error_line, short
from .lexical import coverage_verdict, lexical_verdict

_INFRA = re.compile(
    r"\b(?:HTTP(?:/[\d.]+)?|status(?:[ _]?code)?|code|error)[^\w\n]{0,3}(?:429|5\d\d)\b|"
    r"\b(?:429|5\d\d) (?:too many requests|internal server error|bad gateway|service unavailable|"
    r"gateway time-?out)\b|\b(?:rate.?limit\w*|too many requests|timed out|timeout(?:error)?|"
    r"overloaded|bad gateway|service unavailable|connection (?:error|reset|refused|aborted)|"
    r"quota (?:exceeded|exhausted)|internal server error|APIConnectionError|ReadTimeout)\b",
    re.I,
)  # a bare 5xx number is not enough: tracebacks are full of "line 512"
_CONTEXT = re.compile(
    r"context[_ ]length|maximum context|context window|too many tokens|prompt is too long|"
    r"input is too long|reduce the length",
    re.I,
)
_VALIDATION = re.compile(
    r"ValidationError|validation error|OutputParserException|JSONDecodeError|json ?schema|"
    r"Input should be|Field required|is not valid under any of the given schemas|"
    r"(?:failed|unable) to parse|Invalid json|not valid JSON|type=\w+_(?:parsing|type)",
    re.I,
)
_RETRIEVAL_KINDS = (
    FindingKind.EMPTY_RETRIEVAL,
    FindingKind.LOW_RELEVANCE_RETRIEVAL,
    FindingKind.RETRIEVAL_MISSED_FACTS,
)
_CONTEXT_KINDS = (FindingKind.CONTEXT_TRIMMED, FindingKind.CONTEXT_MISSING_INPUT)
_TOOL_KINDS = (
    FindingKind.TOOL_ERROR,
    FindingKind.TOOL_OUTPUT_ERROR,
    FindingKind.UNKNOWN_TOOL,
    FindingKind.BAD_TOOL_ARGUMENTS,
    FindingKind.RETRY_AFTER_ERROR,
    FindingKind.EMPTY_TOOL_RESULT,
    FindingKind.INFRASTRUCTURE_ERROR,
    FindingKind.RUN_ERROR,
)
_MODEL_KINDS = (RunKind.LLM, RunKind.EMBEDDING)
_STEP_KINDS = (RunKind.CHAIN, RunKind.AGENT, RunKind.OTHER)
_STEP_RULE = "an intermediate step of the agent (an action such as running code) failed"


Rule = Callable[[Case], Verdict | None]


def decide(case: Case) -> Verdict:
    """The verdict of the first matching rule."""
    for rule in RULES:
        verdict = rule(case)
        if verdict is not None:
            return verdict
    return lexical_verdict(case)


def _infrastructure(case: Case) -> Verdict | None:
    ended = not case.facts.final_text.strip() or case.trace.root.failed
    hits = [
        f
        for f in case.of(FindingKind.INFRASTRUCTURE_ERROR, FindingKind.RUN_ERROR)
        if f.kind == FindingKind.INFRASTRUCTURE_ERROR or _INFRA.search(_telling(case, f))
    ]
    hits = [f for f in hits if case.kind_of(f) in _MODEL_KINDS or ended]
    if not hits:
        return None
    return Verdict(
        failure_type=FailureType.INFRASTRUCTURE,
        rule="provider error (rate limit, timeout, 5xx) on a model call, or one that ended the run",
        findings=tuple(hits),
        confidence=Level.HIGH,
        detail=short(hits[0].evidence or hits[0].message, 160),
        tool=_tool_name(case, hits[0]),
    )


def _telling(case: Case, finding: Finding) -> str:
    """The finding's message and its run's telling error line (not a traceback's source lines)."""
    run = case.run(finding)
    return " ".join((finding.message, error_line(run) if run else finding.evidence))


def _context(case: Case) -> Verdict | None:
    hits = case.of(FindingKind.NEAR_CONTEXT_WINDOW) + [
        f
        for f in case.of(FindingKind.RUN_ERROR, FindingKind.INFRASTRUCTURE_ERROR)
        if _CONTEXT.search(case.text(f))
    ]
    if not hits:
        return None
    return Verdict(
        failure_type=FailureType.CONTEXT_ISSUE,
        rule="prompt tokens near the context window, or a context-length error",
        findings=tuple(hits),
        confidence=Level.HIGH,
        detail=short(hits[0].message, 160),
    )


def _output_format(case: Case) -> Verdict | None:
    hits = case.of(FindingKind.FINISH_LENGTH, FindingKind.PARSE_AFTER_TRUNCATION) + [
        f for f in case.of(FindingKind.RUN_ERROR) if _is_parse_failure(case, f)
    ]
    if not hits:
        return None
    return Verdict(
        failure_type=FailureType.OUTPUT_FORMAT,
        rule="output stopped at the token limit (finish_reason length), or the model's output "
        "failed to parse or validate against its schema",
        findings=tuple(hits),
        confidence=Level.HIGH,
        detail=short(hits[0].message, 160),
    )


def _orchestration(case: Case) -> Verdict | None:
    hits = case.of(FindingKind.LOOP_TOOL_CALL, FindingKind.REPEATED_OUTPUT)
    if not hits:
        return _step_limit(case)
    loop = hits[0].kind == FindingKind.LOOP_TOOL_CALL
    return Verdict(
        failure_type=FailureType.ORCHESTRATION_ISSUE,
        rule="the same tool call or the same output repeated (a loop)",
        findings=tuple(hits),
        confidence=Level.HIGH if loop else Level.MEDIUM,
        detail=f"the agent repeated itself: {short(hits[0].message, 140)}",
        tool=_tool_name(case, hits[0]) if loop else None,
    )


def _step_limit(case: Case) -> Verdict | None:
    hits = case.of(FindingKind.STEP_LIMIT)
    if not hits:
        return None
    return Verdict(
        failure_type=FailureType.ORCHESTRATION_ISSUE,
        rule="the agent stopped at its iteration or step limit before finishing (premature stop)",
        findings=tuple(hits),
        confidence=Level.HIGH,
        detail=short(hits[0].message, 160),
        knobs=_knobs(hits[0].message),
    )


def _knobs(message: str) -> tuple[str, ...]:
    """Configuration keys a finding's message names (``max_iterations``...)."""
    return tuple(dict.fromkeys(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", message)))


def _is_parse_failure(case: Case, finding: Finding) -> bool:
    """A parser, or a step that is no tool, failing to parse or validate the model's output."""
    kind = case.kind_of(finding)
    if kind is RunKind.PARSER:
        return True
    run = case.run(finding)
    return (
        kind in _STEP_KINDS
        and run is not None
        and bool(_VALIDATION.search(_telling(case, finding) + " " + run.name))
    )


def _retrieval(case: Case) -> Verdict | None:
    found = [] if case.of(FindingKind.EXPECTATION_MET) else case.of(*_RETRIEVAL_KINDS)
    hits = found + [f for f in case.of(*_TOOL_KINDS) if _is_retrieval(case.run(f))]
    if not hits:
        return None
    return Verdict(
        failure_type=FailureType.RETRIEVAL_ISSUE,
        rule="a retriever or search tool failed, returned nothing, or returned documents that "
        "do not hold what was expected",
        findings=tuple(hits),
        confidence=Level.HIGH
        if found or case.kind_of(hits[0]) is RunKind.RETRIEVER
        else Level.MEDIUM,
        detail=short(hits[0].message, 160),
        tool=_tool_name(case, hits[0]),
    )


def _tool(case: Case) -> Verdict | None:
    hits = [
        f for f in case.of(*_TOOL_KINDS) if f.kind != FindingKind.RUN_ERROR or _is_action(case, f)
    ]
    if not hits:
        return None
    # A tool's own failure names the tool; a failed step around it (code execution) comes after.
    hits.sort(key=lambda f: not _is_tool(case.run(f)))
    direct = _is_tool(case.run(hits[0])) or hits[0].kind != FindingKind.RUN_ERROR
    fabricated = _fabricated(case, hits)
    rule_sentence = failure_rule(case.prompt_texts) if fabricated else None
    common = {"findings": tuple(hits), "tool": _tool_name(case, hits[0]), "fabricated": fabricated}
    if rule_sentence is not None:
        # The failure is deterministic; "answered as if not" is read from the answer's words.
        return Verdict(
            failure_type=FailureType.INSTRUCTION_NOT_FOLLOWED,
            rule="a tool failed, the model answered as if not, and a prompt rule covers failures",
            confidence=Level.MEDIUM,
            detail=f'"{short(rule_sentence.text, 160)}"',
            existing_rule=rule_sentence,
            **common,  # type: ignore[arg-type]
        )
    return Verdict(
        failure_type=FailureType.TOOL_ERROR,
        rule=("a tool call failed, was unknown or had bad arguments" if direct else _STEP_RULE)
        + (", then the model answered without admitting it" if fabricated else ""),
        confidence=Level.HIGH if direct else Level.MEDIUM,
        detail=short(hits[0].evidence or hits[0].message, 160),
        **common,  # type: ignore[arg-type]
    )


def _context_assembly(case: Case) -> Verdict | None:
    hits = [] if case.of(FindingKind.EXPECTATION_MET) else case.of(*_CONTEXT_KINDS)
    if not hits:
        return None
    return Verdict(
        failure_type=FailureType.CONTEXT_ISSUE,
        rule="a step that builds the model's context dropped or lost part of it",
        findings=tuple(hits),
        confidence=Level.HIGH if case.of(FindingKind.EXPECTATION_NOT_MET) else Level.MEDIUM,
        detail=short(hits[0].message, 160),
        knobs=_knobs(hits[0].message),
    )


def _reasoning(case: Case) -> Verdict | None:
    """A wrong figure derived from inputs the model had: arithmetic, dates, counts, positions."""
    hits = case.of(FindingKind.WRONG_FIGURE)
    if not hits or not says("derived_values", f"{case.expected} {case.facts.user_input}"):
        return None
    return Verdict(
        failure_type=FailureType.MODEL_LIMITATION,
        rule="the answer states a wrong figure for a task of calculation or reasoning over inputs "
        "the model had (arithmetic, dates, counting, positions)",
        findings=tuple(hits),
        confidence=Level.MEDIUM,
        detail=short(hits[0].message, 160),
    )


def _empty_output(case: Case) -> Verdict | None:
    hits = case.of(FindingKind.EMPTY_OUTPUT)
    if not hits:
        return None
    run = case.run(hits[0])
    filtered = run is not None and (run.finish_reason or "").lower() in ("content_filter", "safety")
    return Verdict(
        failure_type=FailureType.MODEL_LIMITATION if filtered else FailureType.ORCHESTRATION_ISSUE,
        rule="the final answer is empty"
        + (" (content filter)" if filtered else " (premature stop)"),
        findings=tuple(hits),
        confidence=Level.MEDIUM,
        detail=short(hits[0].message, 160),
    )


def _fabricated(case: Case, hits: list[Finding]) -> bool:
    final = case.facts.final_run
    if (
        final is None
        or case.of(FindingKind.EXPECTATION_MET)
        or says("admits_failure", case.facts.final_text)
    ):
        return False
    first = min((case.trace.position(f.run_id) for f in hits if f.run_id in case.trace), default=0)
    return case.trace.position(final.id) > first


def _is_retrieval(run: Run | None) -> bool:
    return run is not None and is_retrieval(run)


def _is_action(case: Case, finding: Finding) -> bool:
    """A failed tool, or a failed intermediate step that the agent went on from.

    Such a step (code execution, a sub-agent's action) is neither a model call nor the whole run.
    """
    run = case.run(finding)
    if run is None or _is_tool(run):
        return run is not None
    return run.kind in _STEP_KINDS and run.parent_id is not None and run.id != case.trace.root.id


def _is_tool(run: Run | None) -> bool:
    return run is not None and run.kind in (RunKind.TOOL, RunKind.RETRIEVER)


def _tool_name(case: Case, finding: Finding) -> str | None:
    """The tool a finding is about: the tool run's name, or a tool the model called in that run."""
    run = case.run(finding)
    if run is None or run.kind is RunKind.CHAIN:
        return None
    if _is_tool(run):
        return run.tool_name or run.name or None
    calls = [c.name for m in run.output_messages for c in m.tool_calls]
    named = [name for name in calls if name in finding.evidence or name in finding.message]
    return next(iter(named or calls), None)


RULES: tuple[Rule, ...] = (
    _infrastructure,
    _context,
    _output_format,
    _orchestration,
    _retrieval,
    _tool,
    _context_assembly,
    _empty_output,
    _reasoning,
    coverage_verdict,
)
