"""OpenInference span attributes: flattened message lists and span kinds, shared by span formats.

OpenInference (Arize) writes an LLM call's messages as flat attributes,
``llm.input_messages.0.message.role``, ``...message.content``,
``...message.tool_calls.0.tool_call.function.name``, because OTel attributes cannot nest. OTLP
files and span-tree exports both carry them, so the unflattening lives here once.

``run_fields`` reads what a span's attributes say about its run (kind, model, usage, messages,
tool call). Instrumentations mix conventions on one span (OpenInference beside OTel GenAI, the
Vercel AI SDK's ``ai.*`` beside ``gen_ai.*``), so each field is looked up across all of them in
one precedence order: OpenInference, then OTel GenAI (current, then deprecated names), then
Vercel. JSON-text attributes are decoded only when a field needs them.

Attribute maps are split in one pass (``split_attributes``): indexed lists go to ``lists`` by
prefix and everything else stays in ``plain``. No regular expressions, and each key is looked at
once, because a 100,000-span file holds millions of attributes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .messages import (
    arguments_text,
    decode_json,
    json_messages,
    normalise_role,
    to_text,
)
from .model import Message, RunKind, TokenUsage, ToolCall

LIST_PREFIXES = (
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.tools.",
    "gen_ai.prompt.",
    "gen_ai.completion.",
)
"""Attribute prefixes whose keys continue with ``N.`` and form a list."""

_KINDS = {
    "LLM": RunKind.LLM,
    "CHAIN": RunKind.CHAIN,
    "AGENT": RunKind.AGENT,
    "TOOL": RunKind.TOOL,
    "RETRIEVER": RunKind.RETRIEVER,
    "RERANKER": RunKind.RETRIEVER,
    "EMBEDDING": RunKind.EMBEDDING,
    "PROMPT": RunKind.PROMPT,
    "GUARDRAIL": RunKind.CHAIN,
    "EVALUATOR": RunKind.CHAIN,
}


@dataclass(frozen=True, kw_only=True)
class SpanAttributes:
    """A span's attributes: plain keys, and indexed lists grouped by prefix and index."""

    plain: dict[str, Any] = field(default_factory=dict)
    """Every attribute that is not part of an indexed list."""
    lists: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    """``{"llm.input_messages.": {0: {"message.role": "user", ...}}}``."""


def split_attributes(pairs: Iterable[tuple[str, Any]]) -> SpanAttributes:
    """Split ``(key, value)`` pairs into plain attributes and indexed lists, in one pass."""
    plain: dict[str, Any] = {}
    lists: dict[str, dict[int, dict[str, Any]]] = {}
    for key, value in pairs:
        prefix = _list_prefix(key)
        if prefix is None:
            plain[key] = value
            continue
        index, _, rest = key[len(prefix) :].partition(".")
        if index.isdigit() and rest:
            lists.setdefault(prefix, {}).setdefault(int(index), {})[rest] = value
        else:
            plain[key] = value
    return SpanAttributes(plain=plain, lists=lists)


def _list_prefix(key: str) -> str | None:
    if not key.startswith(("llm.", "gen_ai.")):
        return None
    for prefix in LIST_PREFIXES:
        if key.startswith(prefix):
            return prefix
    return None


def indexed(fields: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Sub-lists of one list item (``message.tool_calls.0.tool_call.id``), in index order."""
    groups: dict[int, dict[str, Any]] = {}
    for key, value in fields.items():
        if key.startswith(prefix):
            index, _, rest = key[len(prefix) :].partition(".")
            if index.isdigit() and rest:
                groups.setdefault(int(index), {})[rest] = value
    return [groups[i] for i in sorted(groups)]


def span_kind(value: Any) -> RunKind | None:
    """The RunKind of an ``openinference.span.kind`` value, or None when there is none."""
    if not isinstance(value, str) or not value:
        return None
    return _KINDS.get(value.upper(), RunKind.OTHER)


def messages_from_list(items: dict[int, dict[str, Any]]) -> tuple[Message, ...]:
    """Messages from ``llm.input_messages`` / ``llm.output_messages`` items, in index order."""
    found = (_message(items[index]) for index in sorted(items))
    return tuple(message for message in found if message is not None)


def _message(fields: dict[str, Any]) -> Message | None:
    role = fields.get("message.role")
    content = fields.get("message.content")
    if content is None:
        parts = indexed(fields, "message.contents.")
        content = "\n".join(to_text(p.get("message_content.text")) for p in parts if p)
    calls = tuple(_tool_call(call) for call in indexed(fields, "message.tool_calls."))
    tool_calls = tuple(call for call in calls if call is not None)
    if role is None and not content and not tool_calls:
        return None
    tool_call_id = fields.get("message.tool_call_id")
    name = fields.get("message.name")
    return Message(
        role=normalise_role(str(role or "user")),
        content=to_text(content),
        tool_calls=tool_calls,
        tool_call_id=str(tool_call_id) if tool_call_id not in (None, "") else None,
        name=name if isinstance(name, str) else None,
    )


def _tool_call(fields: dict[str, Any]) -> ToolCall | None:
    name = fields.get("tool_call.function.name")
    if not isinstance(name, str):
        return None
    call_id = fields.get("tool_call.id")
    return ToolCall(
        id=str(call_id) if call_id not in (None, "") else None,
        name=name,
        arguments=arguments_text(fields.get("tool_call.function.arguments")),
    )


def tool_schemas(items: dict[int, dict[str, Any]]) -> list[Any]:
    """The ``llm.tools.N.tool.json_schema`` values, in index order (JSON text or objects)."""
    return [items[i].get("tool.json_schema") for i in sorted(items)]


_GENAI_KINDS = {
    "chat": RunKind.LLM,
    "text_completion": RunKind.LLM,
    "completion": RunKind.LLM,
    "generate_content": RunKind.LLM,
    "embeddings": RunKind.EMBEDDING,
    "execute_tool": RunKind.TOOL,
    "invoke_agent": RunKind.AGENT,
    "create_agent": RunKind.AGENT,
}
_TRACELOOP_KINDS = {
    "workflow": RunKind.CHAIN,
    "task": RunKind.CHAIN,
    "agent": RunKind.AGENT,
    "tool": RunKind.TOOL,
}
_INPUT_KEYS = (
    "input.value",
    "input",
    "gen_ai.input.messages",
    "gen_ai.prompt",
    "gen_ai.tool.call.arguments",
    "ai.prompt",
    "ai.prompt.messages",
    "ai.toolCall.args",
    "ai.toolCall.input",
)
_OUTPUT_KEYS = (
    "output.value",
    "output",
    "gen_ai.output.messages",
    "gen_ai.completion",
    "gen_ai.tool.call.result",
    "ai.response.text",
    "ai.response.object",
    "ai.toolCall.result",
    "ai.toolCall.output",
)
_TOOL_ARGS_KEYS = (
    "gen_ai.tool.call.arguments",
    "ai.toolCall.args",
    "ai.toolCall.input",
    "input.value",
    "input",
)
_TOOL_RESULT_KEYS = (
    "gen_ai.tool.call.result",
    "ai.toolCall.result",
    "ai.toolCall.output",
    "output.value",
    "output",
)
_CONSUMED = frozenset((*_INPUT_KEYS, *_OUTPUT_KEYS, "gen_ai.system_instructions"))
_USAGE_KEYS = (
    ("llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total"),
    ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.total_tokens"),
    ("gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens", "llm.usage.total_tokens"),
    ("ai.usage.inputTokens", "ai.usage.outputTokens", "ai.usage.totalTokens"),
    ("ai.usage.promptTokens", "ai.usage.completionTokens", "ai.usage.tokens"),
)


def run_fields(attrs: SpanAttributes, *, name: str) -> dict[str, Any]:
    """``Run`` keyword arguments read from a span's attributes (ids, times, status excluded)."""
    plain = attrs.plain
    kind = _kind(attrs)
    input_messages = _input_messages(attrs, kind)
    output_messages, finish_reason = _output(attrs, kind)
    fields: dict[str, Any] = {
        "kind": kind,
        "model": _first_str(
            plain,
            "llm.model_name",
            "gen_ai.response.model",
            "gen_ai.request.model",
            "ai.response.model",
            "ai.model.id",
        ),
        "provider": _provider(plain),
        "invocation_params": _invocation_params(plain),
        "usage": _usage(plain),
        "input_messages": input_messages,
        "output_messages": output_messages,
        "finish_reason": finish_reason,
        "available_tools": _tool_names(attrs),
        "inputs": {key: plain[key] for key in _INPUT_KEYS if key in plain},
        "outputs": {key: plain[key] for key in _OUTPUT_KEYS if key in plain} or None,
        "metadata": {key: value for key, value in plain.items() if key not in _CONSUMED},
    }
    if kind is RunKind.TOOL:
        fields.update(_tool(plain, name))
    return fields


def _kind(attrs: SpanAttributes) -> RunKind:
    plain = attrs.plain
    found = span_kind(plain.get("openinference.span.kind"))
    found = found or _GENAI_KINDS.get(str(plain.get("gen_ai.operation.name")))
    found = found or _vercel_kind(plain.get("ai.operationId"))
    found = found or _TRACELOOP_KINDS.get(str(plain.get("traceloop.span.kind")))
    if found is not None:
        return found
    if "gen_ai.tool.name" in plain or "tool.name" in plain:
        return RunKind.TOOL
    llm_keys = ("gen_ai.input.messages", "gen_ai.request.model", "llm.request.type")
    if "llm.input_messages." in attrs.lists or any(key in plain for key in llm_keys):
        return RunKind.LLM
    return RunKind.OTHER


def _vercel_kind(operation: Any) -> RunKind | None:
    if not isinstance(operation, str) or not operation.startswith("ai."):
        return None
    if operation == "ai.toolCall":
        return RunKind.TOOL
    if operation.endswith((".doGenerate", ".doStream")):
        return RunKind.LLM
    if operation.endswith(".doEmbed"):
        return RunKind.EMBEDDING
    return RunKind.CHAIN


def _first_str(plain: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = plain.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _provider(plain: dict[str, Any]) -> str | None:
    vercel = plain.get("ai.model.provider")
    # "openai.responses" names the provider and its API
    vercel = vercel.split(".")[0] if isinstance(vercel, str) and vercel else None
    given = _first_str(plain, "llm.provider", "gen_ai.provider.name")
    return given or vercel or _first_str(plain, "gen_ai.system", "llm.system")


def _invocation_params(plain: dict[str, Any]) -> dict[str, Any]:
    params = decode_json(plain.get("llm.invocation_parameters"))
    if isinstance(params, dict):
        return params
    for prefix in ("gen_ai.request.", "ai.settings."):
        found = {
            key[len(prefix) :]: value
            for key, value in plain.items()
            if key.startswith(prefix) and key != "gen_ai.request.model"
        }
        if found:
            return found
    return {}


def as_int(value: Any) -> int | None:
    """An integer from an int, an integral float or digit text; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def _usage(plain: dict[str, Any]) -> TokenUsage | None:
    for prompt_key, completion_key, total_key in _USAGE_KEYS:
        if prompt_key not in plain and completion_key not in plain and total_key not in plain:
            continue
        prompt, completion = as_int(plain.get(prompt_key)), as_int(plain.get(completion_key))
        total = as_int(plain.get(total_key))
        if prompt is None and completion is None and total is None:
            continue
        if total is None:
            total = (prompt or 0) + (completion or 0)
        return TokenUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)
    return None


def _input_messages(attrs: SpanAttributes, kind: RunKind) -> tuple[Message, ...]:
    plain, lists = attrs.plain, attrs.lists
    if "llm.input_messages." in lists:
        return messages_from_list(lists["llm.input_messages."])
    if "gen_ai.input.messages" in plain:
        found = json_messages(plain["gen_ai.input.messages"], "user")
        return _with_system(plain.get("gen_ai.system_instructions"), found)
    if "gen_ai.prompt." in lists:
        return _indexed_messages(lists["gen_ai.prompt."], "user")
    for key in ("gen_ai.prompt", "ai.prompt.messages", "ai.prompt"):
        if key in plain:
            return json_messages(plain[key], "user")
    if kind is RunKind.LLM:
        return json_messages(plain.get("input.value", plain.get("input")), "user")
    return ()


def _with_system(instructions: Any, messages: tuple[Message, ...]) -> tuple[Message, ...]:
    text = to_text(decode_json(instructions))
    if not text or any(message.role == "system" for message in messages):
        return messages
    return (Message(role="system", content=text), *messages)


def _indexed_messages(items: dict[int, dict[str, Any]], role: str) -> tuple[Message, ...]:
    """The deprecated ``gen_ai.prompt.N.role/content/tool_calls.M.*`` messages."""
    messages: list[Message] = []
    for index in sorted(items):
        fields = items[index]
        calls = [
            ToolCall(
                id=str(call["id"]) if call.get("id") else None,
                name=call["name"],
                arguments=arguments_text(call.get("arguments")),
            )
            for call in indexed(fields, "tool_calls.")
            if isinstance(call.get("name"), str)
        ]
        content = decode_json(fields.get("content"))
        tool_call_id = fields.get("tool_call_id")
        messages.append(
            Message(
                role=normalise_role(str(fields.get("role") or role)),
                content=to_text(content if isinstance(content, list) else fields.get("content")),
                tool_calls=tuple(calls),
                tool_call_id=str(tool_call_id) if tool_call_id else None,
            )
        )
    return tuple(messages)


def _output(attrs: SpanAttributes, kind: RunKind) -> tuple[tuple[Message, ...], str | None]:
    plain, lists = attrs.plain, attrs.lists
    reason = _finish_reason(attrs)
    if "llm.output_messages." in lists:
        return messages_from_list(lists["llm.output_messages."]), reason
    if "gen_ai.output.messages" in plain:
        decoded = decode_json(plain["gen_ai.output.messages"])
        return json_messages(decoded, "assistant"), reason or finish_reason_in(decoded)
    if "gen_ai.completion." in lists:
        return _indexed_messages(lists["gen_ai.completion."], "assistant"), reason
    if "ai.response.text" in plain or "ai.response.toolCalls" in plain:
        return _vercel_response(plain), reason
    value = plain.get("gen_ai.completion", plain.get("ai.response.object"))
    if value is None and kind is RunKind.LLM:
        value = plain.get("output.value", plain.get("output"))
    decoded = decode_json(value)
    return json_messages(decoded, "assistant"), reason or finish_reason_in(decoded)


def _finish_reason(attrs: SpanAttributes) -> str | None:
    reasons = attrs.plain.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, list):
        reasons = next((r for r in reasons if isinstance(r, str) and r), None)
    if isinstance(reasons, str) and reasons:
        return reasons
    vercel = _first_str(attrs.plain, "ai.response.finishReason", "llm.finish_reason")
    if vercel:
        return vercel
    first = attrs.lists.get("gen_ai.completion.", {}).get(0, {})
    return _first_str(first, "finish_reason")


def finish_reason_in(decoded: Any) -> str | None:
    """A ``finish_reason`` in a decoded output: an object, a list of choices or GenAI messages."""
    candidates: list[Any] = [decoded]
    if isinstance(decoded, list):
        candidates = decoded
    elif isinstance(decoded, dict) and isinstance(decoded.get("choices"), list):
        candidates = decoded["choices"]
    for item in candidates:
        if isinstance(item, dict):
            reason = item.get("finish_reason", item.get("stop_reason"))
            if isinstance(reason, str) and reason:
                return reason
    return None


def _vercel_response(plain: dict[str, Any]) -> tuple[Message, ...]:
    calls = decode_json(plain.get("ai.response.toolCalls"))
    tool_calls = tuple(
        ToolCall(
            id=str(call["toolCallId"]) if call.get("toolCallId") else None,
            name=call["toolName"],
            arguments=arguments_text(call.get("args", call.get("input"))),
        )
        for call in (calls if isinstance(calls, list) else [])
        if isinstance(call, dict) and isinstance(call.get("toolName"), str)
    )
    text = to_text(plain.get("ai.response.text"))
    return (Message(role="assistant", content=text, tool_calls=tool_calls),)


def _tool_names(attrs: SpanAttributes) -> tuple[str, ...]:
    schemas: list[Any] = tool_schemas(attrs.lists.get("llm.tools.", {}))
    for key in ("gen_ai.tool.definitions", "ai.prompt.tools"):
        listed = decode_json(attrs.plain.get(key))
        if isinstance(listed, list):
            schemas.extend(listed)
    return tool_names(schemas)


def tool_names(schemas: Any) -> tuple[str, ...]:
    """Tool names from a list of tool definitions (OpenAI ``function`` objects or JSON text)."""
    names = (_schema_name(schema) for schema in (schemas if isinstance(schemas, list) else []))
    return tuple(name for name in names if name)


@lru_cache(maxsize=256)
def _schema_name_of_text(text: str) -> str | None:
    decoded = decode_json(text)
    return _schema_name(decoded) if isinstance(decoded, dict) else None


def _schema_name(schema: Any) -> str | None:
    if isinstance(schema, str):
        return _schema_name_of_text(schema)
    if not isinstance(schema, dict):
        return None
    function = schema.get("function")
    name = function.get("name") if isinstance(function, dict) else schema.get("name")
    return name if isinstance(name, str) and name else None


def _tool(plain: dict[str, Any], name: str) -> dict[str, Any]:
    args = next((plain[key] for key in _TOOL_ARGS_KEYS if key in plain), None)
    result = next((plain[key] for key in _TOOL_RESULT_KEYS if key in plain), None)
    return {
        "tool_name": _first_str(plain, "tool.name", "gen_ai.tool.name", "ai.toolCall.name") or name,
        "tool_args": None if args is None else arguments_text(args),
        "tool_result": None if result is None else to_text(result),
    }
