"""Message normalisers: every chat-message shape becomes a ``Message``.

LangChain's serialised messages and ``generations``, OpenAI dicts (incl. ``choices``),
Anthropic-style content blocks and OTel GenAI ``parts`` (``text`` with ``content``, ``tool_call``
with ``arguments``, ``tool_call_response`` with ``response``) are understood. Sources that send
messages as JSON text (OTel attributes, Langfuse's API) decode them with ``decode_json`` first.

Normalisers are forgiving: anything they do not recognise is skipped rather than raised, because a
trace with an odd message is still worth analysing. They never invent content.
"""

from __future__ import annotations

import json
from typing import Any

from .model import Message, ToolCall, trusted

_LC_ROLES = {
    "SystemMessage": "system",
    "HumanMessage": "user",
    "AIMessage": "assistant",
    "AIMessageChunk": "assistant",
    "ToolMessage": "tool",
    "FunctionMessage": "tool",
    "ChatMessage": "user",
}
_TYPE_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "ai": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
    "developer": "system",
}


def normalise_role(role: str) -> str:
    """A role as ``user``, ``assistant``, ``system`` or ``tool`` when it is a synonym of one."""
    return _TYPE_ROLES.get(role, role)


def decode_json(value: Any) -> Any:
    """The value a JSON text holds, when ``value`` is JSON object or array text; else ``value``."""
    if not isinstance(value, str):
        return value
    start = value.lstrip()[:1]
    if start not in ("{", "["):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value


def to_text(value: Any) -> str:
    """Text of a value: strings as is, content parts joined, anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(text for text in (_part_text(part) for part in value) if text)
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return str(value["text"])
    return _dumps(value)


# One encoder for every call: json.dumps with options builds a new JSONEncoder each time.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def _dumps(value: Any) -> str:
    try:
        return _ENCODER.encode(value)
    except (ValueError, RecursionError):  # circular or too deep: still show something
        return str(value)[:10_000]


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return ""
    for key in ("text", "content", "result", "output", "response", "refusal"):
        if isinstance(part.get(key), str):
            return str(part[key])
    if str(part.get("type")) in {"tool_result", "tool_call_response"}:
        response = part.get("response", part.get("content", part.get("result")))
        return "" if response is None else to_text(response)
    return ""


def arguments_text(value: Any) -> str:
    """Tool-call arguments as text: strings verbatim, objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _dumps(value)


def normalise_message(raw: Any) -> Message | None:
    """One message from any known shape, or None when the value is not a message."""
    if isinstance(raw, str):
        return Message(role="user", content=raw)
    if not isinstance(raw, dict):
        return None
    if raw.get("lc") == 1 and isinstance(raw.get("kwargs"), dict):
        return _from_langchain(raw)
    if "message" in raw and isinstance(raw["message"], dict) and "role" not in raw:
        return normalise_message(raw["message"])  # an OpenAI choice or a LangChain generation
    role = raw.get("role") or raw.get("type")
    if not isinstance(role, str) or not role:
        return None
    return _from_dict(raw, _TYPE_ROLES.get(role, role))


def normalise_messages(raw: Any) -> tuple[Message, ...]:
    """Messages from a list; nested lists (LangChain batches) are flattened."""
    if isinstance(raw, dict):
        found = normalise_message(raw)
        return (found,) if found else ()
    if not isinstance(raw, list):
        return ()
    messages: list[Message] = []
    for item in _flatten(raw):
        found = normalise_message(item)
        if found is not None:
            messages.append(found)
    return tuple(messages)


def messages_from_generations(generations: Any) -> tuple[Message, ...]:
    """Messages from LangChain ``generations`` (a list of lists of generations)."""
    messages: list[Message] = []
    for generation in _flatten(generations if isinstance(generations, list) else []):
        if not isinstance(generation, dict):
            continue
        if isinstance(generation.get("message"), dict):
            found = normalise_message(generation["message"])
        else:
            found = Message(role="assistant", content=to_text(generation.get("text")))
        if found is not None:
            messages.append(found)
    return tuple(messages)


def messages_from_choices(choices: Any) -> tuple[Message, ...]:
    """Messages from an OpenAI ``choices`` list."""
    if not isinstance(choices, list):
        return ()
    found = (normalise_message(c) for c in choices if isinstance(c, dict))
    return tuple(m for m in found if m is not None)


def json_messages(value: Any, role: str) -> tuple[Message, ...]:
    """Messages from a value that may be JSON text: a message list, ``{"messages": ...}``, text."""
    decoded = decode_json(value)
    if isinstance(decoded, list):
        return normalise_messages(decoded)
    if isinstance(decoded, str):
        return (Message(role=role, content=decoded),) if decoded else ()
    if not isinstance(decoded, dict):
        return ()
    if "messages" in decoded or "system" in decoded:
        system = decoded.get("system")
        found = normalise_messages(decoded.get("messages"))
        found = found or _text_message(decoded, role)
        return (Message(role="system", content=system), *found) if system else found
    if "choices" in decoded:
        return messages_from_choices(decoded["choices"])
    return normalise_messages(decoded) or _text_message(decoded, role)


def _text_message(decoded: dict[str, Any], role: str) -> tuple[Message, ...]:
    for key in ("text", "prompt", "content", "output"):
        if isinstance(decoded.get(key), str):
            return (Message(role=role, content=decoded[key]),)
    return ()


def _flatten(items: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in items:
        if isinstance(item, list):
            flat.extend(_flatten(item))
        else:
            flat.append(item)
    return flat


def _from_langchain(raw: dict[str, Any]) -> Message:
    kwargs: dict[str, Any] = raw["kwargs"]
    ids = raw.get("id") or []
    class_name = str(ids[-1]) if isinstance(ids, list) and ids else ""
    role = _LC_ROLES.get(class_name) or _TYPE_ROLES.get(str(kwargs.get("type", "")), "user")
    if class_name == "ChatMessage" and isinstance(kwargs.get("role"), str):
        role = _TYPE_ROLES.get(kwargs["role"], kwargs["role"])
    return _from_dict(kwargs, role)


def _from_dict(raw: dict[str, Any], role: str) -> Message:
    content = raw.get("content")
    if content is None and "parts" in raw:
        content = raw["parts"]
    tool_calls = _tool_calls(raw)
    if isinstance(content, list):
        tool_calls = tool_calls + _tool_calls_in_parts(content)
    tool_call_id = _opt_str(raw.get("tool_call_id")) or _tool_result_id(content)
    if tool_call_id is None and role == "tool":  # tau2-bench links a result to its call by ``id``
        tool_call_id = _opt_str(raw.get("id") or raw.get("tool_use_id"))
    name = raw.get("name")
    return trusted(
        Message,
        role=role,
        content=to_text(content),
        tool_calls=tool_calls,
        tool_call_id=tool_call_id,
        name=name if isinstance(name, str) else None,
    )


def _tool_calls(raw: dict[str, Any]) -> tuple[ToolCall, ...]:
    calls = raw.get("tool_calls")
    if not calls and isinstance(raw.get("additional_kwargs"), dict):
        calls = raw["additional_kwargs"].get("tool_calls")
    if not calls and isinstance(raw.get("function_call"), dict):
        calls = [{"function": raw["function_call"]}]
    if not calls or not isinstance(calls, list):
        return ()
    found: list[ToolCall] = []
    for call in calls:
        if not isinstance(call, dict):
            continue
        found.extend(_one_call(call))
    return tuple(found)


def _one_call(call: dict[str, Any]) -> tuple[ToolCall, ...]:
    """A call: ``{"function": {name, arguments}}``, ``{"function": "name", "arguments"}``, flat."""
    function: dict[str, Any] = call["function"] if isinstance(call.get("function"), dict) else call
    name = function.get("name")
    if isinstance(call.get("function"), str):  # inspect_ai and others: the name, args beside it
        name, function = call["function"], call
    if not isinstance(name, str):
        return ()
    args = function.get("arguments", function.get("args", function.get("input")))
    return (
        trusted(ToolCall, id=_opt_str(call.get("id")), name=name, arguments=arguments_text(args)),
    )


def _tool_calls_in_parts(parts: list[Any]) -> tuple[ToolCall, ...]:
    found: list[ToolCall] = []
    for part in parts:
        if isinstance(part, dict) and isinstance(part.get("functionCall"), dict):  # Gemini
            found.extend(_one_call(part["functionCall"]))
        elif isinstance(part, dict) and str(part.get("type")) in {
            "tool_use",
            "tool_call",
            "function_call",
        }:
            name = part.get("name")
            if isinstance(name, str):
                args = part.get("input", part.get("arguments", part.get("args")))
                arguments = arguments_text(args)
                found.append(
                    trusted(ToolCall, id=_opt_str(part.get("id")), name=name, arguments=arguments)
                )
    return tuple(found)


def _tool_result_id(content: Any) -> str | None:
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and str(part.get("type")) in {
                "tool_result",
                "tool_call_response",
            }:
                return _opt_str(part.get("tool_use_id") or part.get("id"))
    return None


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
