"""smolagents memory: ``agent.memory.get_full_steps()`` (a list of step dicts) saved as JSON.

Steps are told apart by their keys: ``{"system_prompt"}`` (SystemPromptStep), ``{"task"}``
(TaskStep), ``{"plan"}`` (PlanningStep), ``{"output"}`` (FinalAnswerStep) and ActionSteps with
``step_number``: ``model_output_message`` / ``model_output`` (what the model wrote),
``tool_calls`` (``{"id", "function": {"name", "arguments"}}``; empty when the call failed, the call
then being in ``model_output_message``), ``observations`` (what the tools returned) and ``error``
(``{"type", "message"}``). An ActionStep becomes an assistant step ``msg-<n>`` and, for its
calls, a tool step ``msg-<n>.1`` holding the observations or the error. ``{"steps": [...]}`` with
an optional ``system_prompt`` is read too. A step of any other shape is an error.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .chat import Step, conversation_trace, input_output_usage, tool_error
from .messages import normalise_message, to_text
from .model import Message, ToolCall, Trace
from .sources import TraceFormat, register_format

_ACTION_KEYS = {"step_number", "model_output_message", "observations", "tool_calls"}
_OTHER_KEYS = ("system_prompt", "task", "plan", "output")


def detect(doc: Any) -> bool:
    """True for smolagents steps (a list or ``{"steps": [...]}``) with at least one ActionStep."""
    steps = _steps(doc)
    return bool(steps) and any(_is_action(step) for step in steps[:50])


def _steps(doc: Any) -> list[Any]:
    found = doc.get("steps") if isinstance(doc, dict) else doc
    if not isinstance(found, list) or not all(isinstance(s, dict) for s in found[:50]):
        return []
    return found if all(_is_action(s) or _other(s) for s in found[:50]) else []


def _is_action(step: Any) -> bool:
    return isinstance(step, dict) and "step_number" in step and bool(step.keys() & _ACTION_KEYS)


def _other(step: dict[str, Any]) -> str | None:
    return next((key for key in _OTHER_KEYS if key in step), None)


def parse(doc: Any, origin: str) -> Trace:
    """An assistant step per ActionStep, a tool step per its observations or error."""
    steps: list[Step] = []
    if isinstance(doc, dict) and isinstance(doc.get("system_prompt"), str):
        steps.append(Step(message=Message(role="system", content=doc["system_prompt"]), index=-1))
    for index, raw in enumerate(_steps(doc)):
        steps.extend(_step(raw, index, origin))
    return conversation_trace(steps, trace_id="smolagents", format="smolagents")


def _step(raw: dict[str, Any], index: int, origin: str) -> list[Step]:
    if _is_action(raw):
        return _action(raw, index)
    kind = _other(raw)
    if kind is None:
        raise InputError(
            f"cannot read {origin}: step {index} is not a smolagents memory step",
            "understood steps: system_prompt, task, plan, action (step_number), output",
        )
    role = {"system_prompt": "system", "task": "user", "plan": "assistant"}.get(kind, "assistant")
    name = "planning" if kind == "plan" else ("final_answer" if kind == "output" else None)
    message = Message(role=role, content=to_text(raw.get(kind)), name=name)
    return [Step(message=message, index=index)]


def _action(raw: dict[str, Any], index: int) -> list[Step]:
    written = normalise_message(raw.get("model_output_message"))
    calls = _calls(raw.get("tool_calls")) or (written.tool_calls if written else ())
    text = to_text(raw.get("model_output")) or (written.content if written else "")
    reply = Message(role="assistant", content=text, tool_calls=calls)
    observed = to_text(raw.get("observations"))
    error = tool_error(raw, observed)
    usage = input_output_usage(raw.get("token_usage"))
    if not calls and not observed:  # a parsing error, a step limit: the model's step failed
        return [Step(message=reply, index=index, usage=usage, error=error)]
    steps = [Step(message=reply, index=index, usage=usage)]
    if calls or observed:
        result = Message(
            role="tool",
            content=observed or error or "",
            tool_call_id=calls[0].id if calls else None,
            name=calls[0].name if calls else "observation",
        )
        steps.append(Step(message=result, index=index, sub=1, error=error))
    return steps


def _calls(raw: Any) -> tuple[ToolCall, ...]:
    if not isinstance(raw, list) or not raw:
        return ()
    found = normalise_message({"role": "assistant", "tool_calls": raw})
    return found.tool_calls if found else ()


register_format(TraceFormat(name="smolagents", detect=detect, parse=parse))
