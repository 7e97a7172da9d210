"""Loops and retries: an agent doing the same thing again and expecting a different result.

Three shapes, each found in one pass: the same tool called with the same arguments (three times,
or twice in a row), the same model output produced again, and a failed run followed by a sibling
of the same name (a retry, by the framework or by the model).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from ...traces.model import Run, RunKind, Trace
from ..findings import DetectorInput, Finding, FindingKind, Severity, detector
from .errors import error_excerpt
from .excerpts import finding, head

_MIN_OUTPUT_CHARS = 15


@dataclass(kw_only=True)
class _Tally:
    """Occurrences of one repeated thing (internal, mutable while counting)."""

    runs: list[Run] = field(default_factory=list)
    evidence: str = ""
    consecutive: bool = False


@lru_cache(maxsize=8192)
def _canonical_args(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except ValueError:
        return " ".join(arguments.split())


def _tool_invocations(trace: Trace) -> Iterator[tuple[Run, str, str]]:
    """(run, tool name, arguments) from tool runs, or from model tool calls when there are none."""
    tools = trace.of_kind(RunKind.TOOL)
    if tools:
        yield from ((run, run.tool_name or run.name, run.tool_args or "") for run in tools)
        return
    for run in trace.of_kind(RunKind.LLM):
        for message in run.output_messages:
            yield from ((run, call.name, call.arguments) for call in message.tool_calls)


def _count_calls(trace: Trace) -> dict[tuple[str, str], _Tally]:
    tallies: dict[tuple[str, str], _Tally] = {}
    previous: tuple[str, str] | None = None
    for run, name, arguments in _tool_invocations(trace):
        key = (name, _canonical_args(arguments))
        tally = tallies.setdefault(key, _Tally(evidence=head(arguments) if arguments else name))
        tally.runs.append(run)
        tally.consecutive = tally.consecutive or key == previous
        previous = key
    return tallies


@detector
def repeated_tool_calls(data: DetectorInput) -> Iterator[Finding]:
    """The same tool called with the same arguments three times or more, or twice in a row."""
    for (name, _), tally in _count_calls(data.trace).items():
        count = len(tally.runs)
        if count < 3 and not tally.consecutive:
            continue
        severity = Severity.HIGH if count >= 3 else Severity.MEDIUM
        again = tally.runs[min(count, 3) - 1] if count >= 3 else tally.runs[1]
        message = f"tool '{name}' was called {count} times with the same arguments"
        yield finding(FindingKind.LOOP_TOOL_CALL, severity, again, message, tally.evidence)


def _output_key(run: Run) -> str:
    text = run.output_text
    return " ".join(text.split()) if len(text.strip()) >= _MIN_OUTPUT_CHARS else ""


@detector
def repeated_llm_outputs(data: DetectorInput) -> Iterator[Finding]:
    """The model produced the same (non-trivial) output text more than once."""
    tallies: dict[str, _Tally] = {}
    for run in data.trace.of_kind(RunKind.LLM):
        key = _output_key(run)
        if key:
            tallies.setdefault(key, _Tally(evidence=head(run.output_text))).runs.append(run)
    for tally in tallies.values():
        count = len(tally.runs)
        if count < 2:
            continue
        severity = Severity.HIGH if count >= 3 else Severity.MEDIUM
        message = f"the model produced the same output {count} times"
        yield finding(FindingKind.REPEATED_OUTPUT, severity, tally.runs[1], message, tally.evidence)


def _retry_args(run: Run) -> str | None:
    """A tool is retried with the same arguments; other runs (LLM calls, chains) by name alone."""
    # A retry re-sends the same arguments text: comparing it whitespace-normalised is enough, and
    # far cheaper than a JSON round trip for every run of a big trace.
    return " ".join((run.tool_args or "").split()) if run.kind is RunKind.TOOL else run.kind.value


def _retry_chains(trace: Trace) -> Iterator[list[Run]]:
    """Runs of one name under one parent, from a failure through the siblings that followed it."""
    open_chains: dict[tuple[str | None, str, str | None], list[Run]] = {}
    for run in trace.runs:
        key = (run.parent_id, run.tool_name or run.name, _retry_args(run))
        chain = open_chains.get(key)
        if chain is not None and chain[-1].failed:
            chain.append(run)
            continue
        if chain is not None and len(chain) > 1:
            yield chain
        open_chains[key] = [run]
    yield from (chain for chain in open_chains.values() if len(chain) > 1)


@detector
def retries_after_errors(data: DetectorInput) -> Iterator[Finding]:
    """A failed run retried by a later sibling of the same name (and, for tools, arguments)."""
    for chain in _retry_chains(data.trace):
        first, last = chain[0], chain[-1]
        outcome = "still failed" if last.failed else "then succeeded"
        attempts = len(chain)
        severity = Severity.HIGH if attempts >= 3 or last.failed else Severity.MEDIUM
        message = f"'{first.name}' failed and was attempted {attempts} times in all; it {outcome}"
        yield finding(
            FindingKind.RETRY_AFTER_ERROR,
            severity,
            first,
            message,
            error_excerpt(first.error or ""),
        )
