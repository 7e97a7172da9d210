"""Context assembly and run limits: what the model was (not) given, and where the agent was cut off.

Three structural findings, read from the inputs and outputs of non-model steps:

- ``context_trimmed``: a step dropped messages or content from the context (``dropped: 3``,
  ``messages: 10`` with ``max_messages: 6``, a trim/truncate step whose output is shorter);
- ``context_missing_input``: a context-building step received an empty value (``profile: null``)
  although an earlier step produced something under that name;
- ``step_limit``: the run stopped at an iteration, step, turn or recursion limit (the message the
  framework writes, or ``iterations`` reaching ``max_iterations``); the finding names the knob.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...traces.model import Run, RunKind, Trace
from ..findings import DetectorInput, Finding, FindingKind, Severity, detector
from .excerpts import finding, own_texts, run_texts, search, window

_DROP_KEYS = re.compile(r"^(?:dropped|removed|trimmed|truncated|evicted|pruned)\w*$", re.I)
_LIMIT_KEY = re.compile(r"^max_?(\w+)$", re.I)
_STOPPED = re.compile(
    r"stopped due to (?:the )?(?:max(?:imum)? )?(?:iteration|time|step|turn)s? limit|"
    r"recursion limit of \d+|GraphRecursionError|MaxTurnsExceeded|max(?:imum)?[ _](?:iterations|"
    r"steps|turns|rounds) (?:reached|exceeded)|(?:iteration|step|turn) limit (?:reached|exceeded)",
    re.I,
)
_STOPPED_HINTS = ("limit", "recursion", "exceeded", "reached")
"""Words every ``_STOPPED`` alternative contains: a cheap test before the regex."""
_KNOBS = re.compile(
    r"\b(max_iterations|max_steps|max_turns|recursion_limit|max_execution_time|max_rounds)\b", re.I
)
_EMPTY: tuple[Any, ...] = (None, "", [], {})
_MODEL = (RunKind.LLM, RunKind.EMBEDDING)


def _numbers(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    found = {k: float(v) for k, v in value.items() if isinstance(v, int | float)}
    for item in value.values():
        if isinstance(item, dict):
            found.update({k: v for k, v in _numbers(item).items() if k not in found})
    return found


def _trim(run: Run) -> str | None:
    """Why the step dropped context, or None."""
    ins, outs = _numbers(run.inputs), _numbers(run.outputs)
    dropped = {k: v for k, v in outs.items() if _DROP_KEYS.match(k) and v > 0}
    if dropped:
        key, value = next(iter(dropped.items()))
        return f"{key}: {value:g}"
    for key, limit in ins.items():
        match = _LIMIT_KEY.match(key)
        counted = ins.get(match.group(1)) if match else None
        if counted is not None and counted > limit and not _STOPPED.search(run.output_text):
            return f"{match.group(1) if match else key}: {counted:g} over {key}: {limit:g}"
    return None


@detector
def context_trimming(data: DetectorInput) -> Iterator[Finding]:
    """Steps that dropped messages or content from what the model would see."""
    for run in data.trace.runs:
        if run.kind in _MODEL or run.kind is RunKind.TOOL or run.id == data.trace.root.id:
            continue
        why = _trim(run)
        if why is not None:
            name = run.name or "a step"
            message = f"step '{name}' dropped part of the context before the model saw it ({why})"
            yield finding(FindingKind.CONTEXT_TRIMMED, Severity.HIGH, run, message)


def _produced(trace: Trace, run: Run, key: str) -> Run | None:
    """An earlier run whose name mentions ``key`` and that returned something."""
    before = trace.runs[: trace.position(run.id)]
    word = key.lower().rstrip("s")
    return next(
        (r for r in before if word in r.name.lower() and r.outputs and not r.failed and r != run),
        None,
    )


@detector
def context_missing_inputs(data: DetectorInput) -> Iterator[Finding]:
    """Context-building steps that got an empty value another step had produced."""
    trace = data.trace
    for run in trace.runs:
        if run.kind in _MODEL or run.kind is RunKind.TOOL or run.id == trace.root.id:
            continue
        for key, value in run.inputs.items():
            source = _produced(trace, run, key) if value in _EMPTY and len(key) > 2 else None
            if source is not None:
                message = (
                    f"step '{run.name}' received {key}=empty although step '{source.name}' "
                    f"had produced it: the model's context was built without it"
                )
                yield finding(FindingKind.CONTEXT_MISSING_INPUT, Severity.HIGH, run, message)
                break


def _limit_knob(run: Run) -> str:
    knob = next((k for k in _numbers(run.inputs) if _LIMIT_KEY.match(k)), None)
    if knob is None:
        knob = next((m.group(1) for t in run_texts(run) if (m := _KNOBS.search(t))), None)
    return knob or "the agent's iteration limit (max_iterations / recursion_limit)"


@detector
def step_limits(data: DetectorInput) -> Iterator[Finding]:
    """The run stopped at an iteration, step or recursion limit (the deepest run that says so)."""
    hits = [r for r in data.trace.runs if _stopped_text(r) is not None]
    hits += [r for r in data.trace.runs if _at_limit(r) and r not in hits]
    if not hits:
        return
    run = max(hits, key=lambda r: (r.id != data.trace.root.id, data.trace.position(r.id)))
    text = _stopped_text(run) or ""
    span = search(_STOPPED, text)
    evidence = window(text, *span) if span else ""
    knob = _limit_knob(run)
    message = f"the agent stopped at its step limit before finishing (raise {knob})"
    yield finding(FindingKind.STEP_LIMIT, Severity.HIGH, run, message, evidence)


def _stopped_text(run: Run) -> str | None:
    """The run's own text that says it stopped at a limit, if any."""
    seen: set[str] = set()
    for text in own_texts(run):
        if text in seen:  # a reply is also its generation's text and its message's content
            continue
        seen.add(text)
        lowered = text.lower()
        if any(map(lowered.__contains__, _STOPPED_HINTS)) and search(_STOPPED, text):
            return text
    return None


def _at_limit(run: Run) -> bool:
    ins = _numbers(run.inputs)
    for key, limit in ins.items():
        match = _LIMIT_KEY.match(key)
        counted = ins.get(match.group(1), -1) if match else -1
        if match and match.group(1) in ("iterations", "steps", "turns") and 0 < limit <= counted:
            return True
    return False
