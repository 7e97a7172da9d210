"""OTLP JSON and JSON Lines files: ``resourceSpans``, as OTel file exporters and collectors write.

A file is one JSON object ``{"resourceSpans": [...]}`` or JSON Lines of them. Spans keep their ids
exactly as the file gives them (hex; base64 ids from a protobuf-to-JSON dump are turned into hex,
which is what OTLP/JSON specifies). Times are nanosecond strings; status code 2 (or
``STATUS_CODE_ERROR``) is an error, whose text is the status message and any ``exception`` event.
What the attributes say about a run (OpenInference, OTel GenAI, Vercel ``ai.*``) is read by
``openinference.run_fields``.

Several traces in one file are not merged: ``split`` lists them by trace id and the caller picks
one with ``FILE#N``.

Partial exports are common (a service exports its spans while the caller's span lives elsewhere),
but so are broken files. The rule: a span whose ``parentSpanId`` is not in the file becomes a root
only when no span of its trace is a root; if the trace has a root, a dangling parent means spans
are missing, and that is an InputError naming the span.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .model import Run, Trace, build_trace
from .openinference import run_fields, split_attributes
from .sources import TraceFormat, register_format
from .timeparse import parse_time

_ERROR_CODES = {2, "2", "STATUS_CODE_ERROR", "ERROR", "Error", "error"}
_OK_CODES = {1, "1", "STATUS_CODE_OK", "OK", "Ok", "ok"}


@dataclass(frozen=True, kw_only=True)
class SpanGroup:
    """The raw spans of one trace, as ``split`` hands them to ``parse``."""

    trace_id: str
    """The trace id the spans share."""
    spans: list[dict[str, Any]]
    """OTLP span objects, in file order."""
    resource: dict[str, Any]
    """The first resource's attributes (service name...)."""


def detect(doc: Any) -> bool:
    """True for ``{"resourceSpans": [...]}`` or JSON Lines whose first line is one."""
    if isinstance(doc, list) and doc:
        doc = doc[0]
    return isinstance(doc, dict) and isinstance(doc.get("resourceSpans"), list)


def split(doc: Any) -> list[tuple[str, Any]]:
    """The file's traces, by trace id in order of first appearance."""
    groups: dict[str, list[dict[str, Any]]] = {}
    resource: dict[str, Any] | None = None
    for attributes, span in _spans(doc):
        resource = attributes if resource is None else resource
        groups.setdefault(_hex_id(span.get("traceId")) or "", []).append(span)
    return [
        (trace_id, SpanGroup(trace_id=trace_id, spans=spans, resource=resource or {}))
        for trace_id, spans in groups.items()
    ]


def parse(doc: Any, origin: str) -> Trace:
    """A Trace from an OTLP document holding one trace, or from one ``split`` group."""
    if not isinstance(doc, SpanGroup):
        groups = split(doc)
        if len(groups) > 1:
            ids = ", ".join(trace_id for trace_id, _ in groups[:5])
            raise InputError(
                f"cannot read {origin}: it holds {len(groups)} traces ({ids})",
                f"pick one with {origin}#N (0-{len(groups) - 1})",
            )
        if not groups:
            raise InputError(f"cannot read {origin}: it holds no spans", "export the trace again")
        doc = groups[0][1]
    return _group_trace(doc, origin)


def _group_trace(group: SpanGroup, origin: str) -> Trace:
    runs = [_span_run(span, group.trace_id, origin) for span in group.spans]
    runs = root_orphans(drop_repeats(runs, origin), origin)
    metadata = {"resource": group.resource} if group.resource else {}
    return build_trace(
        runs, trace_id=group.trace_id or None, source="file", format="otlp", metadata=metadata
    )


def root_orphans(runs: list[Run], origin: str) -> list[Run]:
    """Make spans whose parent is not in the file roots, when the file has no root of its own.

    Raises:
        InputError: the file has a root, so a span with a parent outside the file is missing one.
    """
    known = {run.id for run in runs}
    orphans = [run for run in runs if run.parent_id is not None and run.parent_id not in known]
    if not orphans:
        return runs
    if any(run.parent_id is None for run in runs):
        run = orphans[0]
        raise InputError(
            f"cannot read {origin}: span {run.id} names parent {run.parent_id}, "
            "which is not in the file",
            "export every span of the trace",
        )
    return [
        run.model_copy(
            update={
                "parent_id": None,
                "metadata": {**run.metadata, "otel.parent_span_id": run.parent_id},
            }
        )
        if run.parent_id is not None and run.parent_id not in known
        else run
        for run in runs
    ]


def drop_repeats(runs: list[Run], origin: str) -> list[Run]:
    """Drop exact repeats of a span (exporters retry); two different spans with one id are wrong."""
    seen: dict[str, Run] = {}
    kept: list[Run] = []
    for run in runs:
        earlier = seen.get(run.id)
        if earlier is None:
            seen[run.id] = run
            kept.append(run)
        elif earlier != run:
            raise InputError(
                f"cannot read {origin}: two different spans have id {run.id}",
                "export the trace again",
            )
    return kept


def _spans(doc: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(resource attributes, span)`` for every span of every line."""
    for line in doc if isinstance(doc, list) else [doc]:
        if not isinstance(line, dict):
            continue
        for item in _list(line.get("resourceSpans")):
            resource_spans = _dict(item)
            resource = _dict(resource_spans.get("resource"))
            attributes = dict(_pairs(resource.get("attributes")))
            scopes = resource_spans.get("scopeSpans") or resource_spans.get(
                "instrumentationLibrarySpans"
            )
            for scope_spans in _list(scopes):
                for span in _list(_dict(scope_spans).get("spans")):
                    if isinstance(span, dict):
                        yield attributes, span


def _span_run(span: dict[str, Any], trace_id: str, origin: str) -> Run:
    span_id = _hex_id(span.get("spanId"))
    if not span_id:
        raise InputError(f"cannot read {origin}: a span has no spanId", "export the trace again")
    name = span.get("name")
    name = name if isinstance(name, str) else ""
    fields = run_fields(split_attributes(_pairs(span.get("attributes"))), name=name)
    status, error = _status(span)
    start = span.get("startTimeUnixNano")
    return Run(
        id=span_id,
        trace_id=trace_id,
        parent_id=_hex_id(span.get("parentSpanId")) or None,
        order=f"{start:0>20}" if isinstance(start, str | int) and str(start).isdigit() else "",
        name=name,
        start_time=parse_time(start),
        end_time=parse_time(span.get("endTimeUnixNano")),
        status=status,
        error=error,
        **fields,
    )


def _status(span: dict[str, Any]) -> tuple[str, str | None]:
    status = _dict(span.get("status"))
    code = status.get("code")
    message = status.get("message")
    exceptions = [
        dict(_pairs(event.get("attributes")))
        for event in _list(span.get("events"))
        if isinstance(event, dict) and event.get("name") == "exception"
    ]
    error = exception_text(exceptions) or (
        message if isinstance(message, str) and message else None
    )
    if code in _ERROR_CODES:
        return "error", error or "error"
    if error is not None and exceptions:
        return "error", error
    return ("ok" if code in _OK_CODES else "unset"), None


def exception_text(exceptions: list[dict[str, Any]]) -> str | None:
    """``Type: message`` and the stack trace of each ``exception`` event, or None."""
    texts = []
    for attributes in exceptions:
        head = ": ".join(
            str(attributes[key])
            for key in ("exception.type", "exception.message")
            if attributes.get(key)
        )
        trace = attributes.get("exception.stacktrace")
        texts.append(
            "\n".join(part for part in (head, trace if isinstance(trace, str) else "") if part)
        )
    return "\n".join(text for text in texts if text) or None


def _pairs(attributes: Any) -> Iterator[tuple[str, Any]]:
    for item in _list(attributes):
        if isinstance(item, dict):
            key = item.get("key")
            if isinstance(key, str):
                yield key, any_value(item.get("value"))


def any_value(value: Any) -> Any:
    """The Python value of an OTLP ``AnyValue`` such as ``{"intValue": "4"}``."""
    if not isinstance(value, dict):
        return value
    text = value.get("stringValue")
    if text is not None:
        return text
    if "intValue" in value:
        return _int_value(value["intValue"])
    if "arrayValue" in value:
        return [any_value(item) for item in _list(_dict(value["arrayValue"]).get("values"))]
    if "kvlistValue" in value:
        return dict(_pairs(_dict(value["kvlistValue"]).get("values")))
    for key in ("doubleValue", "boolValue", "bytesValue"):
        if key in value:
            return value[key]
    return None


def _int_value(number: Any) -> Any:
    if isinstance(number, str) and len(number) < 30 and number.lstrip("-").isdigit():
        return int(number)
    return number


def _hex_id(value: Any) -> str | None:
    """A span or trace id as hex: as given when it is hex, decoded when it is base64."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) in (16, 32) or not value.endswith("="):
        return value
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


register_format(TraceFormat(name="otlp", detect=detect, parse=parse, split=split))
