"""Evidence checking: a quote supports a diagnosis only if it occurs verbatim in the trace.

Whoever wrote the quote (a detector, the offline rules or an LLM), it is searched for in the text
of the run it names: every string the run recorded (raw inputs and outputs, error, tool arguments
and result, message contents and tool-call arguments). A quote found in another run instead is
re-pointed at that run, so ``verified=True`` always means "found verbatim in the run named".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..models.diagnosis import Evidence
from ..traces.model import Message, Run, Trace


def run_text(run: Run) -> str:
    """All searchable text of a run, one piece per line."""
    return "\n".join(piece for piece in _run_pieces(run) if piece)


def verify_evidence(trace: Trace, evidence: Evidence) -> Evidence:
    """``evidence`` with ``verified`` set, re-pointed at the run that holds the quote if needed."""
    quote = evidence.quote.strip()
    if not quote:
        return evidence.model_copy(update={"verified": False})
    named = trace.get(evidence.run_id)
    if named is not None and quote in run_text(named):
        return evidence.model_copy(update={"verified": True})
    holder = next((run for run in trace.runs if quote in run_text(run)), None)
    if holder is None:
        return evidence.model_copy(update={"verified": False})
    return evidence.model_copy(update={"run_id": holder.id, "verified": True})


def _run_pieces(run: Run) -> Iterator[str]:
    yield run.name
    yield from _strings(run.inputs)
    yield from _strings(run.outputs)
    yield _dumps(run.inputs) if run.inputs else ""
    yield _dumps(run.outputs) if run.outputs else ""
    yield run.error or ""
    yield run.tool_args or ""
    yield run.tool_result or ""
    for message in (*run.input_messages, *run.output_messages):
        yield from _message_pieces(message)


def _message_pieces(message: Message) -> Iterator[str]:
    yield message.content
    for call in message.tool_calls:
        yield call.name
        yield call.arguments


def _strings(value: Any) -> Iterator[str]:
    """String leaves of a JSON-like value (numbers and booleans as text)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif value is not None:
        yield str(value)


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return ""
