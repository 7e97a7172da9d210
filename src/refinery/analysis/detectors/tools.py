"""Tool misuse and silent tool failures.

Frameworks often hand a tool's failure back to the model as an ordinary result ("ERROR: ...",
``{"error": ...}``, "404 Not Found") with status ok, so the model carries on and invents an answer.
These detectors read tool results (tool runs, and tool messages in the model's input when the trace
has no tool runs for them), the tool calls the model wrote (names it was never offered, arguments
that are not JSON) and empty results.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from ...knowledge.words import identifier_words, says
from ...traces.model import Message, Run, RunKind, Trace
from ..findings import DetectorInput, Finding, FindingKind, Severity, detector
from .errors import INFRA, classify, error_excerpt
from .excerpts import finding, head

_EMPTY_RESULTS = {"", "[]", "{}", "null", "none", '""', "''"}


def _tool_output_finding(run: Run, text: str, source: str) -> Finding | None:
    match = classify(text)
    if match is None:
        return None
    signature, span = match
    kind = signature.kind if signature.kind == INFRA else FindingKind.TOOL_OUTPUT_ERROR
    message = f"{source} looks like a failure ({signature.label}) although its status is ok"
    return finding(kind, signature.severity, run, message, error_excerpt(text, span))


def _tool_messages(trace: Trace, known: set[str]) -> Iterator[tuple[Run, Message]]:
    """Tool messages in LLM inputs, first occurrence only, that no tool run already reports."""
    seen = set(known)
    for run in trace.runs:
        if run.kind is not RunKind.LLM:
            continue
        for message in run.input_messages:
            if message.role == "tool" and message.content and message.content not in seen:
                seen.add(message.content)
                yield run, message


@detector
def tool_output_errors(data: DetectorInput) -> Iterator[Finding]:
    """Error signatures (HTTP codes, tracebacks, timeouts, "not found"...) in ok tool results."""
    results: set[str] = set()
    for run in data.trace.runs:
        if run.kind is not RunKind.TOOL or run.failed:
            continue
        text = run.tool_result or run.output_text
        results.add(text)
        found = _tool_output_finding(run, text, f"tool '{run.tool_name or run.name}' result")
        if found:
            yield found
    for run, message in _tool_messages(data.trace, results):
        source = f"tool message '{message.name or message.tool_call_id or 'tool'}'"
        found = _tool_output_finding(run, message.content, source)
        if found:
            yield found


def _known_tools(trace: Trace) -> set[str]:
    names: set[str] = set()
    for run in trace.runs:
        names.update(run.available_tools)
        if run.kind is RunKind.TOOL:
            names.add(run.tool_name or run.name)
    return names


def _unknown_call(run: Run, name: str, known: set[str]) -> Finding | None:
    if run.available_tools and name not in run.available_tools:
        offered = ", ".join(run.available_tools[:12])
        message = f"the model called tool '{name}', which it was not offered (offered: {offered})"
        return finding(FindingKind.UNKNOWN_TOOL, Severity.HIGH, run, message, name)
    if not run.available_tools and known and name not in known:
        message = f"the model called tool '{name}', which no tool run or tool list in the trace has"
        return finding(FindingKind.UNKNOWN_TOOL, Severity.MEDIUM, run, message, name)
    return None


def _bad_arguments(run: Run, name: str, arguments: str) -> Finding | None:
    if not arguments.strip():
        return None
    try:
        json.loads(arguments)
    except ValueError:
        message = f"the arguments of the call to '{name}' are not valid JSON"
        return finding(FindingKind.BAD_TOOL_ARGUMENTS, Severity.HIGH, run, message, head(arguments))
    return None


@detector
def tool_call_problems(data: DetectorInput) -> Iterator[Finding]:
    """Calls to tools the model was not offered, and call arguments that do not parse as JSON."""
    known = _known_tools(data.trace)
    for run in data.trace.runs:
        if run.kind is not RunKind.LLM:
            continue
        for message in run.output_messages:
            for call in message.tool_calls:
                found = _unknown_call(run, call.name, known)
                bad = _bad_arguments(run, call.name, call.arguments)
                yield from (f for f in (found, bad) if f is not None)


def _is_empty_result(run: Run) -> bool:
    if run.tool_result is not None:
        return run.tool_result.strip().lower() in _EMPTY_RESULTS
    return run.outputs is not None and not any(
        value not in (None, "", [], {}) for value in run.outputs.values()
    )


@detector
def empty_tool_results(data: DetectorInput) -> Iterator[Finding]:
    """Tool runs that succeeded but returned nothing the model could use."""
    for run in data.trace.runs:
        if run.kind is not RunKind.TOOL or run.failed or not _is_empty_result(run):
            continue
        name = run.tool_name or run.name
        if not says("scratchpad_tools", identifier_words(name)):
            message = f"tool '{name}' returned an empty result"
            evidence = run.tool_result.strip() if run.tool_result else ""
            yield finding(FindingKind.EMPTY_TOOL_RESULT, Severity.MEDIUM, run, message, evidence)
