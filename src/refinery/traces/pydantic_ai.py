"""pydantic-ai message history: ``ModelMessagesTypeAdapter.dump_json(result.all_messages())``.

A list of ``{"kind": "request" | "response", "parts": [...]}``. Request parts are
``system-prompt``, ``user-prompt``, ``tool-return`` (a tool's result; ``outcome`` ``retried`` or
``failed`` when the tool raised) and ``retry-prompt`` (what the model is told after a failed tool
call or invalid output); response parts are ``text``, ``thinking`` and ``tool-call`` (``tool_name``,
``args``, ``tool_call_id``), with ``model_name`` and ``usage`` on the response. Each part becomes a
step ``msg-<message>.<part>``; a part of a kind not listed here is an error, never dropped.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .chat import Step, call_message, conversation_trace, input_output_usage
from .messages import to_text
from .model import Message, Trace
from .sources import TraceFormat, register_format

_KINDS = {"request", "response"}
_FAILED_OUTCOMES = {"retried", "failed", "error", "denied"}
_UNDERSTOOD = (
    "system-prompt, user-prompt, tool-return, retry-prompt, text, thinking, tool-call "
    "(and builtin-tool-call/return)"
)


def detect(doc: Any) -> bool:
    """True for a list whose items are pydantic-ai requests and responses with ``parts``."""
    return (
        isinstance(doc, list)
        and bool(doc)
        and all(
            isinstance(m, dict) and _is_kind(m) and isinstance(m.get("parts"), list)
            for m in doc[:20]
        )
    )


def _is_kind(message: dict[str, Any]) -> bool:
    kind = message.get("kind")
    return isinstance(kind, str) and kind in _KINDS


def parse(doc: Any, origin: str) -> Trace:
    """One step per part, in order; tool returns paired with their calls by ``tool_call_id``."""
    steps: list[Step] = []
    for index, message in enumerate(doc):
        if not isinstance(message, dict) or not _is_kind(message):
            raise InputError(
                f"cannot read {origin}: message {index} is not a pydantic-ai request or response",
                "give the output of ModelMessagesTypeAdapter.dump_json(result.all_messages())",
            )
        steps.extend(_message_steps(message, index, origin))
    run_id = next((m.get("run_id") for m in doc if isinstance(m, dict) and m.get("run_id")), None)
    return conversation_trace(steps, trace_id=str(run_id or "pydantic-ai"), format="pydantic-ai")


def _message_steps(message: dict[str, Any], index: int, origin: str) -> list[Step]:
    parts = [p for p in message["parts"] if isinstance(p, dict)]
    if message["kind"] == "response":
        return [_response_step(message, parts, index, origin)]
    found: list[Step] = []
    for part in parts:
        found.append(_request_step(part, index, len(found), origin))
    return found


def _request_step(part: dict[str, Any], index: int, sub: int, origin: str) -> Step:
    kind = part.get("part_kind")
    content = to_text(part.get("content"))
    if kind in ("system-prompt", "user-prompt"):
        role = "system" if kind == "system-prompt" else "user"
        return Step(message=Message(role=role, content=content), index=index, sub=sub)
    if kind in ("tool-return", "builtin-tool-return", "retry-prompt"):
        failed = kind == "retry-prompt" or str(part.get("outcome")) in _FAILED_OUTCOMES
        name = part.get("tool_name")
        message = Message(
            role="tool" if name else "user",
            content=content,
            tool_call_id=_text(part.get("tool_call_id")),
            name=name if isinstance(name, str) else None,
        )
        error = (content or "the tool failed") if failed and name else None
        return Step(message=message, index=index, sub=sub, error=error)
    raise _unknown(kind, index, origin)


def _response_step(
    message: dict[str, Any], parts: list[dict[str, Any]], index: int, origin: str
) -> Step:
    texts: list[str] = []
    calls: list[Message] = []
    for part in parts:
        kind = part.get("part_kind")
        if kind == "text":
            texts.append(to_text(part.get("content")))
        elif kind in ("tool-call", "builtin-tool-call"):
            calls.append(
                call_message(
                    str(part.get("tool_name")), part.get("args"), _text(part.get("tool_call_id"))
                )
            )
        elif kind != "thinking":
            raise _unknown(kind, index, origin)
    reply = Message(
        role="assistant",
        content="\n".join(t for t in texts if t),
        tool_calls=tuple(call for m in calls for call in m.tool_calls),
    )
    return Step(
        message=reply,
        index=index,
        model=_text(message.get("model_name")),
        usage=input_output_usage(message.get("usage")),
    )


def _unknown(kind: Any, index: int, origin: str) -> InputError:
    return InputError(
        f"cannot read {origin}: message {index} holds a part of kind {kind!r}, "
        "which is not understood",
        f"understood parts: {_UNDERSTOOD}",
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


register_format(TraceFormat(name="pydantic-ai", detect=detect, parse=parse))
