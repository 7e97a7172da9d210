"""The recorded LLM call to replay: messages, tool definitions, model and parameters, as recorded.

The call is the diagnosis' divergence step when that step is an LLM run with messages, else the
last LLM call of the trace (the one that wrote, or led to, the final answer). Tool definitions
come from the run's invocation parameters or inputs (OpenAI ``function`` objects, Anthropic
``input_schema`` tools, bare JSON schemas); when only their names were recorded the replay offers
each by name with open parameters, and says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InputError
from ..models.diagnosis import Divergence
from ..traces.model import Message, Run, RunKind, Trace

_TEMPERATURE_KEYS = ("temperature",)
_MAX_TOKEN_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens", "maxOutputTokens")


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """A tool offered to the model: its name, description and JSON-schema parameters."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True, kw_only=True)
class RecordedCall:
    """One LLM call as recorded in the trace; variants are copies with edits applied."""

    run_id: str
    name: str
    why: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    tools_recorded: bool = True
    """False when only tool names were recorded (the replay offers open parameters)."""
    model: str | None = None
    provider: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    answer: str = ""
    """The recorded answer: text and tool calls, as the judge sees them."""

    def with_changes(self, **changes: Any) -> RecordedCall:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)


def recorded_call(trace: Trace, divergence: Divergence | None) -> RecordedCall:
    """The call to replay: the divergence step if it is an LLM call, else the last LLM call."""
    llm_runs = [r for r in trace.of_kind(RunKind.LLM) if r.input_messages]
    if not llm_runs:
        raise InputError(
            "the trace records no LLM call with its messages: there is nothing to replay",
            "export the trace with its LLM inputs, or verify with --eval-command only",
        )
    run = trace.get(divergence.run_id) if divergence else None
    if run is not None and run.kind is RunKind.LLM and run.input_messages:
        reason = divergence.reason if divergence else ""
        return _from_run(run, f"the step where it went wrong: {reason}")
    return _from_run(llm_runs[-1], "the last LLM call before the final answer")


def _from_run(run: Run, why: str) -> RecordedCall:
    tools, recorded = _tools(run)
    params = run.invocation_params
    return RecordedCall(
        run_id=run.id,
        name=run.name,
        why=why,
        messages=run.input_messages,
        tools=tools,
        tools_recorded=recorded,
        model=run.model or _text(params.get("model")),
        provider=run.provider,
        temperature=_number(params, _TEMPERATURE_KEYS),
        max_tokens=_integer(params, _MAX_TOKEN_KEYS),
        answer=answer_text(run.output_messages),
    )


def answer_text(messages: tuple[Message, ...]) -> str:
    """An answer as the judge reads it: its text, then each tool call on its own line."""
    lines: list[str] = []
    for message in messages:
        if message.content:
            lines.append(message.content)
        lines.extend(f"[tool call] {c.name}({c.arguments})" for c in message.tool_calls)
    return "\n".join(lines)


def _tools(run: Run) -> tuple[tuple[ToolSpec, ...], bool]:
    for source in (run.invocation_params.get("tools"), run.inputs.get("tools")):
        specs = tuple(spec for spec in map(_tool_spec, _listed(source)) if spec is not None)
        if specs:
            return specs, True
    return tuple(ToolSpec(name=name) for name in run.available_tools), not run.available_tools


def _listed(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def _tool_spec(raw: Any) -> ToolSpec | None:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(raw, dict):
        return None
    function = raw.get("function")
    body: dict[str, Any] = function if isinstance(function, dict) else raw
    name = body.get("name") or body.get("title")
    if not isinstance(name, str) or not name:
        return None
    schema = body.get("parameters") or body.get("input_schema") or body.get("parametersJsonSchema")
    return ToolSpec(
        name=name,
        description=str(body.get("description") or ""),
        parameters=schema if isinstance(schema, dict) else {"type": "object", "properties": {}},
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(params: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    for key in keys:
        value = params.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _integer(params: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    value = _number(params, keys)
    return int(value) if value is not None else None
