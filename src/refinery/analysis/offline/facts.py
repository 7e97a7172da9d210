"""Facts the offline analyser reads off a trace: request, final answer, prompts and steps.

Traces differ by source (LangSmith chains, OTel spans, transcripts), so each fact is found by the
same generic structure whatever the format: the first user message, the last LLM output with text,
the system messages the model saw, and a short step-by-step story of the runs that matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...traces.model import Run, RunKind, Trace

_STEP_KINDS = (RunKind.LLM, RunKind.TOOL, RunKind.RETRIEVER, RunKind.PARSER)
_QUIET_FINISH = {None, "", "stop", "tool_calls", "end_turn", "tool_use", "function_call", "STOP"}
_MAX_STEPS = 12
_NOT_AGENT = {"user", "human", "system", "developer", "tool", "function"}
_ROLE_NAMES = {"assistant", "ai", "model", "llm", "agent", "bot", "chatbot"}


@dataclass(frozen=True, kw_only=True)
class TraceFacts:
    """What happened, read generically from any trace."""

    user_input: str
    """The user's request (first user message, else the root's input text)."""
    final_run: Run | None
    """The run holding the final answer."""
    final_text: str
    """The final answer's text, verbatim."""
    system_prompts: tuple[tuple[str, str], ...]
    """(run id, text) of each distinct system message the model saw."""
    model: str | None
    """The first model name recorded on an LLM run."""


def read_facts(trace: Trace) -> TraceFacts:
    """The request, final answer, system prompts and model of a trace."""
    final = _final_run(trace)
    return TraceFacts(
        user_input=_user_input(trace),
        final_run=final,
        final_text=final.output_text if final and final.output_text else _root_text(trace),
        system_prompts=tuple(_system_prompts(trace)),
        model=next((r.model for r in trace.runs if r.model), None),
    )


def _final_run(trace: Trace) -> Run | None:
    llm = [r for r in trace.of_kind(RunKind.LLM) if r.output_text.strip()]
    if llm:
        return llm[-1]
    if _root_text(trace):
        return trace.root
    # No LLM run and no root output (a transcript whose speakers are agents, not "assistant"):
    # the last message that no user, system or tool wrote is the answer.
    spoken = [r for r in trace.runs if r.output_text.strip() and _spoken_by_agent(r)]
    return spoken[-1] if spoken else None


def _spoken_by_agent(run: Run) -> bool:
    roles = {m.role for m in run.output_messages}
    return bool(roles) and not roles & _NOT_AGENT


def _user_input(trace: Trace) -> str:
    for run in trace.runs:
        for message in run.input_messages:
            if message.role in ("user", "human") and message.content.strip():
                return message.content
    return next(iter(strings(trace.root.inputs)), "")


def _root_text(trace: Trace) -> str:
    return next(iter(strings(trace.root.outputs)), "")


def _system_prompts(trace: Trace) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for run in trace.runs:
        for message in run.input_messages:
            if message.role in ("system", "developer") and message.content not in seen:
                seen.add(message.content)
                yield run.id, message.content


def strings(value: Any) -> Iterator[str]:
    """Non-empty string leaves of a JSON-like value, in order."""
    if isinstance(value, str):
        if value.strip():
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def short(text: str, limit: int = 120) -> str:
    """One line of at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def summarise(trace: Trace, flagged: set[str]) -> str:
    """A numbered step-by-step story of the runs that matter (flagged runs always kept)."""
    facts = read_facts(trace)
    steps = [r for r in trace.runs if r.kind in _STEP_KINDS or (r.failed and r.id in flagged)]
    kept = steps
    if len(steps) > _MAX_STEPS:
        edge = {r.id for r in steps[:4] + steps[-4:]}
        kept = [r for r in steps if r.id in edge or r.id in flagged][: _MAX_STEPS * 2]
    lines = [f'1. The user asked: "{short(facts.user_input)}"'] if facts.user_input else []
    for run in kept:
        lines.append(f"{len(lines) + 1}. {_step(run)}")
    if len(kept) < len(steps):
        lines.append(f"[… {len(steps) - len(kept)} other steps omitted …]")
    return "\n".join(lines) or f"The trace has {len(trace)} runs and no model or tool steps."


def error_line(run: Run) -> str:
    """The telling line of a run's error: a traceback's last line, else the first line."""
    lines = [line.strip() for line in (run.error or "").splitlines() if line.strip()]
    if not lines:
        return run.status if run.failed else ""
    return lines[-1] if "Traceback" in (run.error or "") else lines[0]


def _speaker(run: Run) -> str:
    """Who spoke: "The model gpt-4o", or the role a transcript names ("The assistant")."""
    if run.model:
        return f"The model {run.model}"
    if run.name.lower() in _ROLE_NAMES:
        return f"The {run.name.lower()}"
    return f"The model ({run.name})" if run.name else "The model"


def _step(run: Run) -> str:
    if run.kind is RunKind.LLM:
        calls = [c for m in run.output_messages for c in m.tool_calls]
        if calls:
            said = "called " + ", ".join(f"{c.name}({short(c.arguments, 60)})" for c in calls)
        elif run.failed:
            said = f"failed: {short(error_line(run), 100)}"
        else:
            said = f'answered "{short(run.output_text)}"'
        note = "" if run.finish_reason in _QUIET_FINISH else f" (finish_reason={run.finish_reason})"
        return f"{_speaker(run)} {said}{note}"
    name = run.tool_name or run.name or run.kind.value
    args = f"({short(run.tool_args, 60)})" if run.tool_args else ""
    if run.failed:
        return f"{run.kind.value.capitalize()} {name}{args} failed: {short(error_line(run), 100)}"
    return f'{run.kind.value.capitalize()} {name}{args} returned "{short(run.output_text, 100)}"'
