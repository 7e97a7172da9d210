"""The conversation as a person reads it: who said what, which tool ran and what it returned.

A timeline step comes from one run: the user's new messages and the agent's reply of an LLM call,
a tool's call and result, an error. Steps are built one page at a time from the runs that can make
steps, so a 50,000-run trace costs one page of work, not the whole trace; messages already shown
(a system prompt every call repeats) are shown once, judged over a bounded look-back. Evidence
quotes are found in each step's text (whitespace-tolerant) and returned as highlighted segments:
the template escapes every segment, so nothing from a trace is ever markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..models.diagnosis import Diagnosis
from ..traces.model import Message, Run, RunKind, Trace

PAGE = 60
_LOOK_BACK = 20
_USER_ROLES = {"user", "human"}
_SYSTEM_ROLES = {"system", "developer"}
_AGENT_ROLES = {"assistant", "ai"}
_MAX_TEXT = 20_000


@dataclass(frozen=True, kw_only=True)
class Segment:
    """A piece of a step's text; ``quote`` when it is diagnosis evidence."""

    text: str
    quote: bool = False


@dataclass(frozen=True, kw_only=True)
class Step:
    """One entry of the conversation."""

    run_id: str
    role: str
    """``user``, ``agent``, ``tool``, ``system`` or ``error``: how the step is drawn."""
    title: str
    body: tuple[Segment, ...]
    calls: tuple[str, ...] = ()
    """Tool calls an agent message made, as ``name(arguments)``."""
    failed: bool = False
    divergence: str | None = None
    """Why this is where things went wrong, on the divergence step."""


@dataclass(frozen=True, kw_only=True)
class TimelinePage:
    """Steps of the runs ``start`` to ``end`` among ``total`` runs that make steps."""

    steps: tuple[Step, ...]
    start: int
    end: int
    total: int
    divergence_index: int | None
    """Index of the divergence run among the step runs, to jump to it."""


@dataclass(kw_only=True)
class _Builder:
    trace: Trace
    quotes: tuple[re.Pattern[str], ...]
    divergence: tuple[str, str] | None
    seen: set[tuple[str, int]] = field(default_factory=set)


def step_runs(trace: Trace) -> list[Run]:
    """The runs that make conversation steps, in execution order."""
    return [run for run in trace if _makes_steps(trace, run)]


def _makes_steps(trace: Trace, run: Run) -> bool:
    if run.kind in (RunKind.LLM, RunKind.TOOL) or run.failed:
        return True
    return bool(run.output_messages) or run.parent_id is None


def timeline_page(trace: Trace, diagnosis: Diagnosis, start: int = 0) -> TimelinePage:
    """One page of the conversation, beginning at step run ``start``."""
    runs = step_runs(trace)
    start = max(0, min(start, len(runs)))
    end = min(len(runs), start + PAGE)
    divergence = diagnosis.divergence
    builder = _Builder(
        trace=trace,
        quotes=tuple(_pattern(e.quote) for e in diagnosis.evidence if e.quote.strip()),
        divergence=(divergence.run_id, divergence.reason) if divergence else None,
    )
    for run in runs[max(0, start - _LOOK_BACK) : start]:
        list(_run_steps(builder, run))
    steps = [step for run in runs[start:end] for step in _run_steps(builder, run)]
    ids = [run.id for run in runs]
    index = ids.index(divergence.run_id) if divergence and divergence.run_id in ids else None
    return TimelinePage(
        steps=tuple(steps), start=start, end=end, total=len(runs), divergence_index=index
    )


def _run_steps(builder: _Builder, run: Run) -> Iterator[Step]:
    """The steps one run makes, marking the divergence on the first of them."""
    steps = list(_steps(builder, run))
    if steps and builder.divergence and builder.divergence[0] == run.id:
        steps[0] = replace(steps[0], divergence=builder.divergence[1])
    yield from steps


def _steps(b: _Builder, run: Run) -> Iterator[Step]:
    if run.parent_id is None and run.kind not in (RunKind.LLM, RunKind.TOOL):
        yield from _root(b, run)
    elif run.kind is RunKind.TOOL:
        yield _tool(b, run)
    elif run.kind is RunKind.LLM:
        yield from _messages(b, run, run.input_messages, new_only=True)
        yield from _messages(b, run, run.output_messages or _text_reply(run), new_only=False)
    else:
        yield from _messages(b, run, run.output_messages, new_only=True)
    if run.error and run.kind is not RunKind.TOOL:
        yield Step(run_id=run.id, role="error", title=f"Error in {run.name or 'a step'}",
                   body=_segments(b, run.error), failed=True)  # fmt: skip


def _root(b: _Builder, run: Run) -> Iterator[Step]:
    if run.input_messages:
        yield from _messages(b, run, run.input_messages, new_only=True)
        return
    text = plain(run.inputs)
    if text:
        b.seen.add(("user", hash(text.strip())))
        yield Step(run_id=run.id, role="user", title="User", body=_segments(b, text))


def _text_reply(run: Run) -> tuple[Message, ...]:
    text = run.output_text
    return (Message(role="assistant", content=text),) if text else ()


def _messages(
    b: _Builder, run: Run, messages: Sequence[Message], *, new_only: bool
) -> Iterator[Step]:
    for message in messages:
        role = _role(message.role)
        if new_only and role in ("agent", "tool"):
            continue  # history the reply or the tool run already showed
        key = (role, hash(message.content.strip()))
        if new_only and key in b.seen:
            continue
        b.seen.add(key)
        calls = tuple(f"{c.name}({c.arguments})" for c in message.tool_calls)
        if not message.content.strip() and not calls:
            continue
        yield Step(run_id=run.id, role=role, title=_title(role, run, message),
                   body=_segments(b, message.content), calls=calls)  # fmt: skip


def _tool(b: _Builder, run: Run) -> Step:
    name = run.tool_name or run.name or "tool"
    result = run.error or run.tool_result or plain(run.outputs or {})
    args = run.tool_args if run.tool_args is not None else plain(run.inputs)
    return Step(run_id=run.id, role="tool", title=f"Tool · {name}", body=_segments(b, result),
                calls=(f"{name}({args})",), failed=run.failed)  # fmt: skip


def _role(role: str) -> str:
    lowered = role.lower()
    if lowered in _USER_ROLES:
        return "user"
    if lowered in _SYSTEM_ROLES:
        return "system"
    if lowered == "tool" or lowered == "function":
        return "tool"
    return "agent"


def _title(role: str, run: Run, message: Message) -> str:
    if role == "system":
        return "Instructions (system prompt)"
    if role == "user":
        return "User"
    if role == "tool":
        return f"Tool result · {message.name or run.name}"
    who = message.name or (run.model if run.kind is RunKind.LLM else None) or run.name
    return f"Agent · {who}" if who and who.lower() not in _AGENT_ROLES else "Agent"


def plain(value: dict[str, Any]) -> str:
    """A run's inputs or outputs as text: the lone string, else indented JSON."""
    if not value:
        return ""
    if len(value) == 1:
        only = next(iter(value.values()))
        if isinstance(only, str):
            return only
    return json.dumps(value, indent=1, ensure_ascii=False, default=str)[:_MAX_TEXT]


def _pattern(quote: str) -> re.Pattern[str]:
    return re.compile(r"\s*".join(re.escape(word) for word in quote.split()))


def _segments(b: _Builder, text: str) -> tuple[Segment, ...]:
    return highlight(text[:_MAX_TEXT], b.quotes)


def highlight(text: str, quotes: Sequence[re.Pattern[str]]) -> tuple[Segment, ...]:
    """``text`` cut into plain and quoted segments where any quote occurs."""
    spans = sorted(
        (m.start(), m.end()) for q in quotes for m in q.finditer(text) if m.end() > m.start()
    )
    segments: list[Segment] = []
    position = 0
    for begin, end in spans:
        if end <= position:
            continue
        begin = max(begin, position)
        if begin > position:
            segments.append(Segment(text=text[position:begin]))
        segments.append(Segment(text=text[begin:end], quote=True))
        position = end
    if position < len(text):
        segments.append(Segment(text=text[position:]))
    return tuple(segments)
