"""Divergence: the earliest step where the agent's behaviour left the expected path.

The final answer is where a failure shows; the step that caused it is often far earlier. Offline,
the step is found from the trace itself, by mechanisms that a detector can see: an agent announcing
it will invent the data it was meant to obtain, the first failed tool or code execution (attributed
to the turn at fault), the first repeated call of a loop of identical calls, and the call that hit a
limit. The earliest of these wins. With none of them, the first action an agent took on the task is
named, and the reason says that nothing in the trace singles out a step (reading the conversation
for a reasoning error needs an LLM).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from ..knowledge.data import load_data
from ..models.diagnosis import Divergence, Evidence
from ..models.findings import Finding, FindingKind
from ..traces.model import Run, RunKind, Trace
from .detectors.errors import classify, error_excerpt
from .detectors.excerpts import head, window

_LIMIT_KINDS = (
    FindingKind.STEP_LIMIT,
    FindingKind.FINISH_LENGTH,
    FindingKind.NEAR_CONTEXT_WINDOW,
    FindingKind.CONTEXT_TRIMMED,
)
_LOOP_KINDS = (FindingKind.LOOP_TOOL_CALL,)
_ERROR_KINDS = frozenset(
    (
        FindingKind.TOOL_ERROR,
        FindingKind.TOOL_OUTPUT_ERROR,
        FindingKind.INFRASTRUCTURE_ERROR,
        FindingKind.RUN_ERROR,
        FindingKind.BAD_TOOL_ARGUMENTS,
    )
)
_TRANSCRIPT_ID = re.compile(r"msg-(\d+)")
_CODE_ACTION = re.compile(r"```(?:py|python|sh|bash|shell)\b|<code>", re.IGNORECASE)
"""A code block the agent hands to an executor: code agents act by writing code, not tool calls."""
_CODE_FAILURE = re.compile(r"Traceback \(most recent call last\)|\bexit ?code:? *[1-9]|\w+Error\b")


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A step where something went wrong, and what: the verbatim excerpt that shows it."""

    run: Run
    reason: str
    quote: str


@dataclass(frozen=True, kw_only=True)
class _Signals:
    fabrication: re.Pattern[str]
    fabrication_hints: tuple[str, ...]
    failed_execution: re.Pattern[str]
    executors: tuple[str, ...]
    coordinators: tuple[str, ...]
    users: tuple[str, ...]


@cache
def _signals() -> _Signals:
    data = load_data("refinery.knowledge", "divergence.yaml")
    return _Signals(
        fabrication=re.compile(data["fabrication"], re.IGNORECASE),
        fabrication_hints=tuple(data["fabrication_hints"]),
        failed_execution=re.compile(data["failed_execution"], re.IGNORECASE),
        executors=tuple(data["executor_names"]),
        coordinators=tuple(data["coordinator_names"]),
        users=tuple(data["user_names"]),
    )


def find_divergence(trace: Trace, findings: Sequence[Finding]) -> Candidate | None:
    """The earliest step the trace shows going wrong, or the first action when none does."""
    steps = _steps(trace)
    if not steps:
        return None
    found = [
        c
        for c in (
            _fabrication(steps),
            _first_failure(steps, findings),
            _first_of(trace, findings, _LOOP_KINDS, "the first repeated call of a loop"),
            _first_of(trace, findings, _LIMIT_KINDS, "this call hit a limit"),
        )
        if c is not None
    ]
    if found:
        return min(found, key=lambda c: trace.position(c.run.id))
    return _first_action(steps)


def divergence_of(trace: Trace, candidate: Candidate) -> Divergence:
    """The Divergence value of a candidate step (a transcript's position is its message index)."""
    match = _TRANSCRIPT_ID.fullmatch(candidate.run.id)
    position = int(match.group(1)) if match else trace.position(candidate.run.id)
    return Divergence(
        run_id=candidate.run.id,
        name=_speaker(candidate.run),
        position=position,
        reason=candidate.reason,
    )


def evidence_of(candidate: Candidate) -> Evidence | None:
    """A verbatim quote of the divergence step, for the diagnosis' evidence."""
    if not candidate.quote.strip():
        return None
    return Evidence(run_id=candidate.run.id, quote=candidate.quote, verified=True)


def _steps(trace: Trace) -> list[Run]:
    """Runs that are actions (model calls, tools, transcript turns), in execution order."""
    kinds = (RunKind.LLM, RunKind.TOOL, RunKind.RETRIEVER)
    return [r for r in trace.runs if r.kind in kinds and r.parent_id is not None]


def _speaker(run: Run) -> str:
    return run.tool_name or run.name


def _is(run: Run, names: Iterable[str]) -> bool:
    speaker = _speaker(run).lower()
    return any(name in speaker for name in names)


def _is_executor(run: Run) -> bool:
    return run.kind in (RunKind.TOOL, RunKind.RETRIEVER) or _is(run, _signals().executors)


def _is_agent_turn(run: Run) -> bool:
    return run.kind is RunKind.LLM and not _is_executor(run) and not _is(run, _signals().users)


def _fabrication(steps: list[Run]) -> Candidate | None:
    signals = _signals()
    for run in steps:
        if not _is_agent_turn(run):
            continue
        text = run.output_text
        lowered = text.lower()
        if not any(hint in lowered for hint in signals.fabrication_hints):
            continue
        match = signals.fabrication.search(text)
        if match:
            reason = (
                f"{_speaker(run)} chose to invent data ('{match.group(0)}') instead of obtaining it"
            )
            return Candidate(run=run, reason=reason, quote=window(text, *match.span()))
    return None


def _first_failure(steps: list[Run], findings: Sequence[Finding]) -> Candidate | None:
    """The first failed tool or code execution, attributed to the agent turn at fault.

    Code that fails when run (a traceback, a non-zero exit code) was written by the turn that issued
    it. A tool that fails on its own (an HTTP error, a timeout, nothing found) is not the caller's
    fault; the fault is in the turn that received the failure and went on.
    """
    flagged = {f.run_id: f.evidence for f in findings if f.kind in _ERROR_KINDS}
    for index, run in enumerate(steps):
        if not _is_executor(run):
            continue
        excerpt = _failure_excerpt(run, flagged.get(run.id))
        if excerpt is None:
            continue
        what = f"{_speaker(run)} failed: {error_excerpt(excerpt)[:160]}"
        issuer = next((s for s in reversed(steps[:index]) if _is_agent_turn(s)), None)
        if issuer is not None and _CODE_FAILURE.search(excerpt) and _ran_code(issuer, run):
            turn: Run | None = issuer
            reason = f"{_speaker(issuer)} wrote code that failed ({what})"
        else:
            turn = next((s for s in steps[index + 1 :] if _is_agent_turn(s)), None)
            reason = f"{_speaker(turn)} carried on after a failed step ({what})" if turn else what
        if turn is None:
            return Candidate(run=run, reason=what, quote=excerpt)
        return Candidate(run=turn, reason=reason, quote=head(turn.output_text))
    return None


def _ran_code(issuer: Run, executor: Run) -> bool:
    """True when the failed step ran code the issuing turn wrote (not a tool failing on its own)."""
    return bool(_CODE_ACTION.search(issuer.output_text)) or _is(executor, _signals().executors)


def _failure_excerpt(run: Run, flagged: str | None) -> str | None:
    """The excerpt that shows the step failed, or None.

    ``flagged`` is the evidence of a detector's error finding on the run: tool results were read
    for error signatures there, so only a transcript's executor turns are read for them here.
    """
    text = run.error or run.tool_result or run.output_text
    if not text:
        return None
    match = _signals().failed_execution.search(text)
    if match:
        return window(text, *match.span())
    if flagged:
        return flagged
    found = None if run.kind is RunKind.TOOL else classify(text)
    if found is not None:
        return window(text, *found[1])
    return head(text) if run.failed or flagged is not None else None


def _first_of(
    trace: Trace, findings: Sequence[Finding], kinds: tuple[FindingKind, ...], reason: str
) -> Candidate | None:
    hits = [f for f in findings if f.kind in kinds and f.run_id in trace]
    if not hits:
        return None
    first = min(hits, key=lambda f: trace.position(f.run_id))
    run = trace.get(first.run_id)
    if run is None:
        return None
    return Candidate(run=run, reason=f"{reason}: {first.message}", quote=first.evidence)


def _first_action(steps: list[Run]) -> Candidate | None:
    """The first agent turn that acts on the task: it calls a tool, or a tool runs next.

    Opening turns that only restate or plan the task come before it; with no turn that acts, the
    first turn after the opening that is not a coordinator's.
    """
    agents = [s for s in steps if _is_agent_turn(s)]
    workers = [s for s in agents[1:] if not _is(s, _signals().coordinators)] or agents
    tool_next = _tool_runs_next(steps)
    run = next((s for s in workers if _acts(s, tool_next[s.id])), workers[0] if workers else None)
    if run is None:
        return None
    reason = (
        f"no step shows an error, so the first action taken on the task ({_speaker(run)}) is "
        "where to start reading; telling a reasoning error from the conversation needs an LLM"
    )
    return Candidate(run=run, reason=reason, quote=head(run.output_text))


def _tool_runs_next(steps: list[Run]) -> dict[str, bool]:
    """For each step, whether the next model call or executor after it is a tool run (one pass)."""
    following: dict[str, bool] = {}
    tool_next = False
    for run in reversed(steps):
        following[run.id] = tool_next
        tool_next = run.kind is not RunKind.LLM and _is_executor(run)
    return following


def _acts(run: Run, tool_next: bool) -> bool:
    calls = any(m.tool_calls for m in run.output_messages)
    return tool_next or calls or bool(_CODE_ACTION.search(run.output_text))
