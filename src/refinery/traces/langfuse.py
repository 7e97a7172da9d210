"""Langfuse observations as files, and the observation normaliser the Langfuse fetcher reuses.

Shapes: ``{"data": [observation...]}`` (``GET /api/public/observations`` and its v2), a trace
object with ``observations`` (``GET /api/public/traces/{id}``), or a bare list of observations.
Observation fields are camelCase: ``id``, ``traceId``, ``parentObservationId``, ``type``
(``GENERATION``, ``SPAN``, ``EVENT``, ``TOOL``, ``AGENT``...), ``startTime``, ``input`` and
``output`` (JSON text in the v2 API, which is decoded), ``model``, ``modelParameters``,
``usage``/``usageDetails``, ``level`` (``ERROR`` is a failure) and ``statusMessage``.

A trace object's own input and output become a root run with the trace's id, because Langfuse
shows the trace as the top of its tree; root observations hang under it. Observations whose
parent is not in the file follow the OTLP rule (roots when nothing else is a root, else an error).
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .messages import arguments_text, decode_json, json_messages, to_text
from .model import Run, RunKind, TokenUsage, Trace, build_trace
from .openinference import as_int, finish_reason_in, tool_names
from .otlp import drop_repeats, root_orphans
from .sources import TraceFormat, register_format
from .timeparse import parse_time

_KINDS = {
    "GENERATION": RunKind.LLM,
    "SPAN": RunKind.CHAIN,
    "CHAIN": RunKind.CHAIN,
    "EVENT": RunKind.OTHER,
    "TOOL": RunKind.TOOL,
    "AGENT": RunKind.AGENT,
    "RETRIEVER": RunKind.RETRIEVER,
    "EMBEDDING": RunKind.EMBEDDING,
    "EVALUATOR": RunKind.CHAIN,
    "GUARDRAIL": RunKind.CHAIN,
}
_USAGE_KEYS = (
    ("input", "output", "total"),
    ("prompt_tokens", "completion_tokens", "total_tokens"),
    ("input_tokens", "output_tokens", "total_tokens"),
    ("promptTokens", "completionTokens", "totalTokens"),
)


def detect(doc: Any) -> bool:
    """True for ``{"data": [obs]}``, a trace with ``observations`` or a list of observations."""
    if isinstance(doc, dict):
        doc = doc.get("data") if "data" in doc else doc.get("observations")
    return isinstance(doc, list) and bool(doc) and _looks_like_observation(doc[0])


def _looks_like_observation(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "id" in value
        and isinstance(value.get("type"), str)
        and ("traceId" in value or "startTime" in value)
    )


def split(doc: Any) -> list[tuple[str, Any]]:
    """The file's traces by ``traceId``; a trace object is always one."""
    if isinstance(doc, dict) and "observations" in doc:
        return [(str(doc.get("id") or ""), doc)]
    listed = doc.get("data") if isinstance(doc, dict) else doc
    groups: dict[str, list[Any]] = {}
    for item in listed if isinstance(listed, list) else []:
        trace_id = item.get("traceId") if isinstance(item, dict) else None
        groups.setdefault(str(trace_id or ""), []).append(item)
    return [(trace_id, {"data": items}) for trace_id, items in groups.items()]


def parse(doc: Any, origin: str) -> Trace:
    """A Trace from a file holding one trace's observations."""
    if isinstance(doc, dict) and "observations" in doc:
        return _trace_object(doc, origin)
    listed = doc.get("data") if isinstance(doc, dict) else doc
    return observations_to_trace(
        listed if isinstance(listed, list) else [], source="file", origin=origin, trace_id=None
    )


def observations_to_trace(
    observations: list[dict[str, Any]], *, source: str, origin: str, trace_id: str | None
) -> Trace:
    """Normalise Langfuse observation dicts (camelCase, as the API returns) and build the tree."""
    runs = _observation_runs(observations, origin)
    trace_ids = {run.trace_id for run in runs if run.trace_id}
    if trace_id is None and len(trace_ids) == 1:
        trace_id = next(iter(trace_ids))
    return build_trace(runs, trace_id=trace_id, source=source, format="langfuse")


def _observation_runs(observations: list[Any], origin: str) -> list[Run]:
    ids = {str(o["id"]) for o in observations if isinstance(o, dict) and o.get("id")}
    runs = [observation_run(o, origin, known=ids) for o in observations]
    return root_orphans(drop_repeats(runs, origin), origin)


def _trace_object(doc: dict[str, Any], origin: str) -> Trace:
    observations = doc.get("observations")
    runs = _observation_runs(observations if isinstance(observations, list) else [], origin)
    trace_id = str(doc.get("id") or "") or None
    if trace_id is None or trace_id in {run.id for run in runs}:
        return build_trace(runs, trace_id=trace_id, source="file", format="langfuse")
    root = observation_run(
        {**doc, "type": "SPAN", "traceId": trace_id, "startTime": doc.get("timestamp")}, origin
    )
    runs = [
        run.model_copy(update={"parent_id": trace_id}) if run.parent_id is None else run
        for run in runs
    ]
    return build_trace([root, *runs], trace_id=trace_id, source="file", format="langfuse")


def observation_run(raw: Any, origin: str, *, known: set[str] | None = None) -> Run:
    """One Langfuse observation as a Run.

    Args:
        raw: the observation dict.
        origin: the file or id, for error messages.
        known: ids of the trace's observations; an app root whose parent is outside them is a root.
    """
    if not isinstance(raw, dict) or raw.get("id") in (None, ""):
        raise InputError(f"cannot read {origin}: an observation has no id", "export it again")
    kind = _KINDS.get(str(raw.get("type") or "").upper(), RunKind.OTHER)
    inputs, outputs = decode_json(raw.get("input")), decode_json(raw.get("output"))
    error = _error(raw)
    name = str(raw["name"]) if isinstance(raw.get("name"), str) else ""
    params = decode_json(raw.get("modelParameters"))
    return Run(
        id=str(raw["id"]),
        trace_id=str(raw.get("traceId") or ""),
        parent_id=_parent(raw, known),
        name=name,
        kind=kind,
        start_time=parse_time(raw.get("startTime")),
        end_time=parse_time(raw.get("endTime")),
        inputs=_as_dict(inputs, "input") or {},
        outputs=_as_dict(outputs, "output"),
        error=error,
        status="error" if error else "ok",
        model=raw["model"] if isinstance(raw.get("model"), str) and raw["model"] else None,
        invocation_params=params if isinstance(params, dict) else {},
        usage=_usage(raw),
        **(_llm_fields(inputs, outputs) if kind is RunKind.LLM else {}),
        **(_tool_fields(name, inputs, outputs) if kind is RunKind.TOOL else {}),
        metadata=_metadata(raw),
        tags=tuple(str(t) for t in raw["tags"]) if isinstance(raw.get("tags"), list) else (),
    )


def _parent(raw: dict[str, Any], known: set[str] | None) -> str | None:
    parent = raw.get("parentObservationId")
    if parent in (None, ""):
        return None
    outside = known is not None and str(parent) not in known
    return None if outside and raw.get("isRootObservation") is True else str(parent)


def _error(raw: dict[str, Any]) -> str | None:
    if str(raw.get("level") or "").upper() != "ERROR":
        return None
    message = raw.get("statusMessage")
    return to_text(message) if message else "error"


def _as_dict(value: Any, key: str) -> dict[str, Any] | None:
    if value is None:
        return None
    return value if isinstance(value, dict) else {key: value}


def _usage(raw: dict[str, Any]) -> TokenUsage | None:
    for usage in (raw.get("usageDetails"), raw.get("usage")):
        if not isinstance(usage, dict):
            continue
        for prompt_key, completion_key, total_key in _USAGE_KEYS:
            prompt, completion = as_int(usage.get(prompt_key)), as_int(usage.get(completion_key))
            total = as_int(usage.get(total_key))
            if prompt is not None or completion is not None or total is not None:
                if total is None:
                    total = (prompt or 0) + (completion or 0)
                return TokenUsage(
                    prompt_tokens=prompt, completion_tokens=completion, total_tokens=total
                )
    return None


def _llm_fields(inputs: Any, outputs: Any) -> dict[str, Any]:
    tools = inputs.get("tools") if isinstance(inputs, dict) else None
    return {
        "input_messages": json_messages(inputs, "user"),
        "output_messages": json_messages(outputs, "assistant"),
        "finish_reason": finish_reason_in(outputs),
        "available_tools": tool_names(tools),
    }


def _tool_fields(name: str, inputs: Any, outputs: Any) -> dict[str, Any]:
    return {
        "tool_name": name or None,
        "tool_args": None if inputs is None else arguments_text(inputs),
        "tool_result": None if outputs is None else to_text(outputs),
    }


def _metadata(raw: dict[str, Any]) -> dict[str, Any]:
    metadata = decode_json(raw.get("metadata"))
    found = dict(metadata) if isinstance(metadata, dict) else {}
    if metadata is not None and not isinstance(metadata, dict):
        found["metadata"] = metadata
    if raw.get("level") not in (None, "DEFAULT", "ERROR"):
        found["langfuse.level"] = raw["level"]
        found["langfuse.status_message"] = raw.get("statusMessage")
    return found


register_format(TraceFormat(name="langfuse", detect=detect, parse=parse, split=split))
