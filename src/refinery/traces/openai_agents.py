"""OpenAI Agents SDK traces: the trace and span items its tracing processors export.

``Trace.export()`` and ``Span.export()`` items come as the ``{"data": [...]}`` batch the OpenAI
exporter posts, as a JSON list, or as JSON Lines of one item each.

A trace item is ``{"object": "trace", "id", "workflow_name", "group_id", "metadata"}``; a span is
``{"object": "trace.span", "id", "trace_id", "parent_id", "started_at", "ended_at", "span_data",
"error": {"message", "data"} | null}``. ``span_data.type`` says what the span is: ``agent``
(name, tools, handoffs), ``generation`` (chat ``input``/``output`` messages, ``model``,
``model_config``, ``usage``), ``response`` (a Responses API call: only its id), ``function`` (a
tool: name, input, output), ``handoff``, ``guardrail`` (``triggered``), ``custom`` (the SDK's
``task`` and ``turn`` spans among others), ``mcp_tools``, ``transcription``, ``speech`` and
``speech_group``. A span of any other type is an error. The trace item becomes the root run;
spans without a parent hang under it. A file with several trace ids holds several traces
(``FILE#N``).
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InputError
from .messages import normalise_messages
from .model import Run, RunKind, TokenUsage, Trace, build_trace
from .sources import TraceFormat, register_format
from .timeparse import parse_time

_OBJECTS = {"trace", "trace.span"}
_KINDS = {
    "agent": RunKind.AGENT,
    "generation": RunKind.LLM,
    "response": RunKind.LLM,
    "function": RunKind.TOOL,
    "handoff": RunKind.CHAIN,
    "guardrail": RunKind.CHAIN,
    "custom": RunKind.CHAIN,
    "mcp_tools": RunKind.OTHER,
    "transcription": RunKind.OTHER,
    "speech": RunKind.OTHER,
    "speech_group": RunKind.OTHER,
}


def detect(doc: Any) -> bool:
    """True for exported trace and span items (``object`` ``trace`` / ``trace.span``)."""
    items = _items(doc)
    return bool(items) and all(
        isinstance(item, dict) and str(item.get("object")) in _OBJECTS for item in items[:20]
    )


def _items(doc: Any) -> list[Any]:
    found = doc.get("data") if isinstance(doc, dict) else doc
    return found if isinstance(found, list) else []


def split(doc: Any) -> list[tuple[str, Any]]:
    """One piece per trace id, in order of first appearance."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in _items(doc):
        if isinstance(item, dict):
            key = item.get("trace_id") if item.get("object") == "trace.span" else item.get("id")
            groups.setdefault(str(key), []).append(item)
    if len(groups) <= 1:
        return [("", doc)]
    return [(f"#{n} trace_id={key}", items) for n, (key, items) in enumerate(groups.items())]


def parse(doc: Any, origin: str) -> Trace:
    """The trace item as the root, every span a run under its parent."""
    items = [item for item in _items(doc) if isinstance(item, dict)]
    header = next((item for item in items if item.get("object") == "trace"), None)
    spans = [item for item in items if item.get("object") == "trace.span"]
    trace_id = str((header or {}).get("id") or (spans[0].get("trace_id") if spans else "trace"))
    root = _root(header, trace_id)
    known = {str(span.get("id")) for span in spans}
    runs = [root, *(_span_run(span, trace_id, known, origin) for span in spans)]
    metadata = {"workflow_name": root.name} if header else {}
    return build_trace(
        runs, trace_id=trace_id, source="file", format="openai-agents", metadata=metadata
    )


def _root(header: dict[str, Any] | None, trace_id: str) -> Run:
    header = header or {}
    name = header.get("workflow_name")
    return Run(
        id=trace_id,
        trace_id=trace_id,
        name=name if isinstance(name, str) else "trace",
        kind=RunKind.CHAIN,
        metadata={k: header[k] for k in ("group_id", "metadata") if header.get(k)},
    )


def _span_run(span: dict[str, Any], trace_id: str, known: set[str], origin: str) -> Run:
    found = span.get("span_data")
    data: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise InputError(
            f"cannot read {origin}: span {span.get('id')} has span_data type {kind!r}, "
            "which is not understood",
            f"understood span types: {', '.join(_KINDS)}",
        )
    parent = span.get("parent_id")
    error = _error(span.get("error"), data)
    return Run(
        id=str(span.get("id")),
        trace_id=trace_id,
        parent_id=str(parent) if parent and str(parent) in known else trace_id,
        order=str(span.get("started_at") or ""),
        start_time=parse_time(span.get("started_at")),
        end_time=parse_time(span.get("ended_at")),
        kind=_KINDS[kind],
        error=error,
        status="error" if error else "ok",
        **_fields(kind, data),
    )


def _fields(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    name = data.get("name")
    if kind == "generation":
        return _generation(data)
    if kind == "function":
        return {
            "name": str(name),
            "tool_name": str(name),
            "tool_args": _text(data.get("input")),
            "tool_result": _text(data.get("output")),
            "inputs": {"input": data.get("input")},
            "outputs": {"output": data.get("output")},
        }
    if kind == "agent":
        tools = data.get("tools")
        listed = tools if isinstance(tools, list) else []
        return {"name": str(name), "available_tools": tuple(str(t) for t in listed)}
    if kind == "handoff":
        return {"name": f"handoff {data.get('from_agent')} -> {data.get('to_agent')}"}
    if kind == "custom" and isinstance(data.get("data"), dict):
        return {"name": str(name), "metadata": dict(data["data"])}
    return {"name": str(name) if isinstance(name, str) else kind, "metadata": dict(data)}


def _generation(data: dict[str, Any]) -> dict[str, Any]:
    outputs = normalise_messages(data.get("output"))
    config = data.get("model_config")
    return {
        "name": str(data.get("model") or "generation"),
        "model": _text(data.get("model")),
        "input_messages": normalise_messages(data.get("input")),
        "output_messages": outputs,
        "outputs": {"content": "\n".join(m.content for m in outputs if m.content)},
        "invocation_params": dict(config) if isinstance(config, dict) else {},
        "usage": _usage(data.get("usage")),
    }


def _usage(raw: Any) -> TokenUsage | None:
    if not isinstance(raw, dict):
        return None
    prompt = raw.get("input_tokens", raw.get("prompt_tokens"))
    completion = raw.get("output_tokens", raw.get("completion_tokens"))
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return TokenUsage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


def _error(raw: Any, data: dict[str, Any]) -> str | None:
    if isinstance(raw, dict) and raw.get("message"):
        detail = raw.get("data")
        inner = detail.get("error") if isinstance(detail, dict) else None
        return f"{raw['message']}: {inner}" if inner else str(raw["message"])
    if data.get("type") == "guardrail" and data.get("triggered") is True:
        return f"guardrail {data.get('name')} was triggered"
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, default=str)


register_format(TraceFormat(name="openai-agents", detect=detect, parse=parse, split=split))
