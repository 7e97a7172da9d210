"""Property tests: detection and every parser raise nothing but RefineryError on any input."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refinery.errors import RefineryError
from refinery.traces import load_trace_file
from refinery.traces.sources import formats

KEYS = st.sampled_from(
    [
        "id",
        "run_type",
        "runs",
        "post",
        "patch",
        "parent_run_id",
        "dotted_order",
        "trace_id",
        "inputs",
        "outputs",
        "extra",
        "tags",
        "error",
        "messages",
        "role",
        "content",
        "tool_calls",
        "function",
        "name",
        "arguments",
        "resourceSpans",
        "scopeSpans",
        "spans",
        "spanId",
        "parentSpanId",
        "traceId",
        "attributes",
        "key",
        "value",
        "stringValue",
        "intValue",
        "arrayValue",
        "values",
        "status",
        "code",
        "events",
        "startTimeUnixNano",
        "child_spans",
        "span_id",
        "parent_span_id",
        "span_attributes",
        "span_name",
        "timestamp",
        "duration",
        "status_code",
        "data",
        "observations",
        "type",
        "parentObservationId",
        "traceId",
        "input",
        "output",
        "usage",
        "usageDetails",
        "level",
        "history",
        "traj",
        "parts",
        "lc",
        "kwargs",
        "generations",
        "choices",
        "message",
        "openinference.span.kind",
        "llm.input_messages.0.message.role",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name",
        "gen_ai.input.messages",
        "gen_ai.operation.name",
        "startTime",
        "x",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        ["LLM", "TOOL", "GENERATION", "ERROR", "chat", "2", "PT1S", "[]", "{}", "user"]
    ),
    st.text(max_size=12),
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEYS, children, max_size=6),
    ),
    max_leaves=30,
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _dump(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


@FAST
@given(JSONISH)
def test_every_format_detects_and_parses_any_json_without_foreign_errors(doc: Any) -> None:
    for fmt in formats():
        with contextlib.suppress(RefineryError):
            if fmt.detect(doc):
                pieces = fmt.split(doc) if fmt.split else [("", doc)]
                for _, piece in pieces:
                    fmt.parse(piece, "prop")


@FAST
@given(JSONISH)
def test_loading_any_json_file_raises_only_refinery_errors(tmp_path_factory: Any, doc: Any) -> None:
    path: Path = tmp_path_factory.mktemp("json") / "trace.json"
    path.write_text(_dump(doc))
    try:
        trace = load_trace_file(path)
    except RefineryError:
        return
    assert len(trace) >= 1


@FAST
@given(st.binary(max_size=300))
def test_loading_any_bytes_raises_only_refinery_errors(tmp_path_factory: Any, data: bytes) -> None:
    path: Path = tmp_path_factory.mktemp("bytes") / "trace.json"
    path.write_bytes(data)
    with pytest.raises(RefineryError):
        load_trace_file(path)


@FAST
@given(st.lists(JSONISH, min_size=2, max_size=4))
def test_json_lines_of_anything_raise_only_refinery_errors(
    tmp_path_factory: Any, docs: list[Any]
) -> None:
    path: Path = tmp_path_factory.mktemp("jsonl") / "trace.jsonl"
    path.write_text("\n".join(_dump(doc) for doc in docs))
    with contextlib.suppress(RefineryError):
        load_trace_file(path)
