"""Plain chat transcripts: a JSON list of OpenAI-style messages, or ``{"messages": [...]}``.

Each message becomes a run ``msg-<index>`` under one synthetic root, so findings can point at a
message. Assistant messages are LLM runs whose input is the conversation so far; tool messages are
tool runs.
"""

from __future__ import annotations

from typing import Any

from .messages import normalise_message
from .model import Message, Run, RunKind, Trace, build_trace
from .sources import TraceFormat, register_format

_ROOT_ID = "transcript"


def detect(doc: Any) -> bool:
    """True for a list of role-bearing dicts, or an object whose ``messages`` is one."""
    if isinstance(doc, dict) and "run_type" not in doc:
        doc = doc.get("messages")
    return (
        isinstance(doc, list)
        and bool(doc)
        and all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in doc[:20])
    )


def parse(doc: Any, origin: str) -> Trace:
    """One run per message under a root that holds the whole conversation."""
    raw = doc["messages"] if isinstance(doc, dict) else doc
    messages = [m for m in (normalise_message(item) for item in raw) if m is not None]
    trace_id = (
        str(doc.get("id") or doc.get("trace_id") or _ROOT_ID) if isinstance(doc, dict) else _ROOT_ID
    )
    root = Run(
        id=_ROOT_ID,
        trace_id=trace_id,
        name="conversation",
        kind=RunKind.CHAIN,
        inputs={
            "messages": [m for m in raw if isinstance(m, dict) and m.get("role") != "assistant"][:1]
        },
        outputs={"content": _last_assistant(messages)},
        input_messages=tuple(messages[:1]),
        output_messages=tuple(m for m in messages[-1:] if m.role == "assistant"),
    )
    runs = [root, *(_message_run(i, m, messages, trace_id) for i, m in enumerate(messages))]
    return build_trace(runs, trace_id=trace_id, source="file", format="transcript")


def _message_run(index: int, message: Message, history: list[Message], trace_id: str) -> Run:
    run_id = f"msg-{index}"
    common: dict[str, Any] = {
        "id": run_id,
        "trace_id": trace_id,
        "parent_id": _ROOT_ID,
        "order": f"{index:08d}",
        "name": message.name or message.role,
    }
    if message.role == "assistant":
        return Run(
            **common,
            kind=RunKind.LLM,
            input_messages=tuple(history[:index]),
            output_messages=(message,),
            outputs={"content": message.content},
        )
    if message.role == "tool":
        call = _call_for(message, history[:index])
        return Run(
            **common,
            kind=RunKind.TOOL,
            tool_name=call.name if call else message.name,
            tool_args=call.arguments if call else None,
            tool_result=message.content,
            outputs={"content": message.content},
        )
    return Run(
        **common,
        kind=RunKind.OTHER,
        output_messages=(message,),
        inputs={"content": message.content},
    )


def _call_for(message: Message, earlier: list[Message]) -> Any:
    for previous in reversed(earlier):
        for call in previous.tool_calls:
            if message.tool_call_id and call.id == message.tool_call_id:
                return call
    return None


def _last_assistant(messages: list[Message]) -> str:
    return next((m.content for m in reversed(messages) if m.role == "assistant"), "")


register_format(TraceFormat(name="transcript", detect=detect, parse=parse))
