"""Chat transcripts: OpenAI-style messages, as a list or under ``messages``/``history``/``traj``.

``{"messages": [...]}`` is the common shape; ``{"history": [{role, name, content}]}`` is how
Who&When records a multi-agent conversation and ``{"traj": [...]}`` how tau-bench records an
agent's trajectory. A JSON list of such objects holds several trajectories: ``split`` names them
and ``FILE#N`` picks one, so they are never merged.

Each message becomes a run ``msg-<index>`` under one synthetic root, the index being the message's
position in the source list (so a benchmark's "mistake step" points at the right run). Assistant
messages are LLM runs whose input is the conversation so far; tool messages are tool runs. In a
Who&When ``history`` the role is often the speaking agent's name (``Orchestrator (thought)``,
``WebSurfer``) or ``user`` for another agent's turn: a message that names an agent is that agent's
assistant turn, and the name is kept as the message's and the run's name.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .messages import normalise_message
from .model import Message, Run, RunKind, ToolCall, Trace, build_trace
from .sources import TraceFormat, register_format

_ROOT_ID = "transcript"
_LIST_KEYS = ("messages", "history", "traj")
_ID_KEYS = ("id", "trace_id", "task_id", "question_ID")
_META_KEYS = ("task_id", "trial", "reward", "question_ID", "level")
_STANDARD_ROLES = {"system", "user", "assistant", "tool", "human", "ai", "function", "developer"}


def detect(doc: Any) -> bool:
    """True for a list of role-bearing dicts, an object holding one, or a list of such objects."""
    if isinstance(doc, list) and doc and _message_list(doc[0]) is not None:
        return all(_message_list(item) is not None for item in doc[:20])
    return _message_list(doc) is not None


def _message_list(doc: Any) -> list[Any] | None:
    """The messages of a transcript document, or None when it is not one."""
    if isinstance(doc, dict) and "run_type" not in doc:
        doc = next((doc[key] for key in _LIST_KEYS if isinstance(doc.get(key), list)), None)
    if not isinstance(doc, list) or not doc:
        return None
    if all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in doc[:20]):
        return doc
    return None


def split(doc: Any) -> list[tuple[str, Any]]:
    """One piece per trajectory when the file is a list of transcript objects."""
    if isinstance(doc, list) and doc and isinstance(doc[0], dict) and _is_holder(doc[0]):
        return [(_label(item, index), item) for index, item in enumerate(doc)]
    return [("", doc)]


def _is_holder(item: dict[str, Any]) -> bool:
    return any(isinstance(item.get(key), list) for key in _LIST_KEYS)


def _label(item: Any, index: int) -> str:
    key = next((k for k in _ID_KEYS if isinstance(item, dict) and item.get(k)), None)
    return f"#{index} {key}={item[key]}" if key is not None else f"#{index}"


def parse(doc: Any, origin: str) -> Trace:
    """One run per message under a root that holds the whole conversation."""
    pieces = split(doc)
    if len(pieces) > 1:
        raise InputError(
            f"cannot read {origin}: it holds {len(pieces)} transcripts",
            f"pick one with {origin}#N (0-{len(pieces) - 1})",
        )
    doc = pieces[0][1]
    raw = _message_list(doc)
    if raw is None:
        raise InputError(f"cannot read {origin}: it holds no messages", "give a chat transcript")
    agents = (isinstance(doc, dict) and isinstance(doc.get("history"), list)) or _names_agents(raw)
    found = ((index, _message(item, agents)) for index, item in enumerate(raw))
    indexed = [(index, message) for index, message in found if message is not None]
    trace_id = _trace_id(doc)
    messages = [message for _, message in indexed]
    root = _root(trace_id, raw, messages)
    runs = [root, *(_message_run(i, m, messages[:n], trace_id) for n, (i, m) in enumerate(indexed))]
    metadata = {k: doc[k] for k in _META_KEYS if isinstance(doc, dict) and k in doc}
    return build_trace(
        runs, trace_id=trace_id, source="file", format="transcript", metadata=metadata
    )


def _names_agents(raw: list[Any]) -> bool:
    """True when some role is an agent's name (a multi-agent log such as Magentic-One's)."""
    return any(
        isinstance(item, dict) and isinstance(item.get("role"), str)
        and item["role"] not in _STANDARD_ROLES
        for item in raw
    )  # fmt: skip


def _message(item: Any, agents: bool) -> Message | None:
    message = normalise_message(item)
    if message is None or not agents or not isinstance(item, dict):
        return message
    role = str(item.get("role"))
    if role not in _STANDARD_ROLES:
        return message.model_copy(update={"role": "assistant", "name": message.name or role})
    if message.role == "user" and message.name:
        return message.model_copy(update={"role": "assistant"})
    return message


def _trace_id(doc: Any) -> str:
    if isinstance(doc, dict):
        found = next((doc[k] for k in _ID_KEYS if doc.get(k) not in (None, "")), None)
        if found is not None:
            return str(found)
    return _ROOT_ID


def _root(trace_id: str, raw: list[Any], messages: list[Message]) -> Run:
    return Run(
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


def _message_run(index: int, message: Message, history: list[Message], trace_id: str) -> Run:
    common: dict[str, Any] = {
        "id": f"msg-{index}",
        "trace_id": trace_id,
        "parent_id": _ROOT_ID,
        "order": f"{index:08d}",
        "name": message.name or message.role,
    }
    if message.role == "assistant":
        return Run(
            **common,
            kind=RunKind.LLM,
            input_messages=tuple(history),
            output_messages=(message,),
            outputs={"content": message.content},
        )
    if message.role == "tool":
        call = _call_for(message, history)
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


def _call_for(message: Message, earlier: list[Message]) -> ToolCall | None:
    for previous in reversed(earlier):
        for call in previous.tool_calls:
            if message.tool_call_id and call.id == message.tool_call_id:
                return call
    return None


def _last_assistant(messages: list[Message]) -> str:
    return next((m.content for m in reversed(messages) if m.role == "assistant"), "")


register_format(TraceFormat(name="transcript", detect=detect, parse=parse, split=split))
