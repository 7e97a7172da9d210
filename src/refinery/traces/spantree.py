"""Nested span-tree JSON: ``{"trace_id", "spans": [...]}`` with ``child_spans`` (Patronus export).

TRAIL's traces are in this shape: each span has ``span_id``, ``parent_span_id``, ``span_name``,
``timestamp`` (start, ISO 8601), ``duration`` (ISO 8601, ``PT1M48.7S``), ``status_code``
(``Ok``/``Error``/``Unset``), ``status_message``, ``events`` (``Name``/``Attributes``) and a flat
``span_attributes`` map with OpenInference keys, read by ``openinference.run_fields``.

The nesting is the tree: a span's parent is the span it is nested in. A top-level span whose
``parent_span_id`` names another span of the file hangs under it; one naming a span that is not
in the file follows the OTLP rule (a root when the file has no root of its own, else an error).
Span ids are kept exactly as given, because TRAIL's annotations point at them. Exact repeats of a
span, which some exports contain, are dropped.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from ..errors import InputError
from .model import Run, Trace, build_trace
from .openinference import run_fields, split_attributes
from .otlp import drop_repeats, exception_text, root_orphans
from .sources import TraceFormat, register_format
from .timeparse import parse_time

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_ERROR = {"error", "status_code_error", "2"}
_OK = {"ok", "status_code_ok", "1"}


def detect(doc: Any) -> bool:
    """True for an object whose ``spans`` list starts with a span carrying ``child_spans``."""
    if not isinstance(doc, dict) or not isinstance(doc.get("spans"), list) or not doc["spans"]:
        return False
    first = doc["spans"][0]
    return isinstance(first, dict) and ("child_spans" in first or "span_attributes" in first)


def parse(doc: Any, origin: str) -> Trace:
    """A Trace from a span tree, every nested span a run."""
    trace_id = doc.get("trace_id") if isinstance(doc.get("trace_id"), str) else None
    runs = [_span_run(span, parent, trace_id or "", origin) for span, parent in _walk(doc["spans"])]
    runs = root_orphans(drop_repeats(runs, origin), origin)
    return build_trace(runs, trace_id=trace_id, source="file", format="span-tree")


def _walk(spans: list[Any]) -> list[tuple[dict[str, Any], str | None]]:
    """Every span with its enclosing span's id (None at the top), parents first."""
    found: list[tuple[dict[str, Any], str | None]] = []
    stack: list[tuple[Any, str | None]] = [(span, None) for span in reversed(spans)]
    while stack:
        span, parent = stack.pop()
        if not isinstance(span, dict):
            continue
        found.append((span, parent))
        children = span.get("child_spans")
        if isinstance(children, list):
            own_id = _text(span.get("span_id"))
            stack.extend((child, own_id) for child in reversed(children))
    return found


def _span_run(span: dict[str, Any], enclosing: str | None, trace_id: str, origin: str) -> Run:
    span_id = _text(span.get("span_id"))
    if span_id is None:
        raise InputError(f"cannot read {origin}: a span has no span_id", "export the trace again")
    attributes = span.get("span_attributes")
    pairs = attributes.items() if isinstance(attributes, dict) else ()
    name = _text(span.get("span_name")) or ""
    fields = run_fields(split_attributes(pairs), name=name)
    start = parse_time(span.get("timestamp"))
    status, error = _status(span)
    return Run(
        id=span_id,
        trace_id=_text(span.get("trace_id")) or trace_id,
        parent_id=enclosing or _text(span.get("parent_span_id")),
        name=name,
        start_time=start,
        end_time=_end_time(start, span.get("duration")),
        status=status,
        error=error,
        **fields,
    )


def _end_time(start: datetime | None, duration: Any) -> datetime | None:
    match = _DURATION.match(duration) if isinstance(duration, str) and len(duration) < 64 else None
    if start is None or match is None:
        return None
    days, hours, minutes = (int(match[key] or 0) for key in ("d", "h", "m"))
    try:
        return start + timedelta(
            days=days, hours=hours, minutes=minutes, seconds=float(match["s"] or 0)
        )
    except OverflowError:
        return None


def _status(span: dict[str, Any]) -> tuple[str, str | None]:
    code = str(span.get("status_code") or "").lower()
    message = _text(span.get("status_message"))
    exceptions = [_event_attributes(event) for event in _events(span)]
    error = exception_text([e for e in exceptions if e is not None]) or message
    if code in _ERROR:
        return "error", error or "error"
    if error and any(exceptions):
        return "error", error
    return ("ok" if code in _OK else "unset"), None


def _events(span: dict[str, Any]) -> list[dict[str, Any]]:
    events = span.get("events")
    return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []


def _event_attributes(event: dict[str, Any]) -> dict[str, Any] | None:
    """The attributes of an ``exception`` event (``Name``/``Attributes`` or lower-case keys)."""
    name = event.get("Name", event.get("name"))
    attributes = event.get("Attributes", event.get("attributes"))
    if name != "exception" or not isinstance(attributes, dict):
        return None
    return attributes


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


register_format(TraceFormat(name="span-tree", detect=detect, parse=parse))
