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


ATTR_KEYS = st.sampled_from(
    [
        "openinference.span.kind",
        "llm.model_name",
        "llm.input_messages.0.message.role",
        "llm.input_messages.0.message.content",
        "llm.input_messages.1.message.contents.0.message_content.text",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
        "llm.tools.0.tool.json_schema",
        "llm.token_count.prompt",
        "llm.token_count.total",
        "llm.invocation_parameters",
        "tool.name",
        "input.value",
        "output.value",
        "gen_ai.operation.name",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.usage.input_tokens",
        "gen_ai.response.finish_reasons",
        "gen_ai.prompt.0.role",
        "gen_ai.prompt.0.content",
        "gen_ai.completion.0.tool_calls.0.name",
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.tool.definitions",
        "gen_ai.request.temperature",
        "ai.operationId",
        "ai.prompt",
        "ai.prompt.messages",
        "ai.response.toolCalls",
        "ai.prompt.tools",
        "ai.model.provider",
        "llm.input_messages.x.message.role",
        "llm.tools.0",
    ]
)
ATTR_VALUES = st.one_of(
    JSONISH,
    st.sampled_from(
        ["LLM", "TOOL", "AGENT", "chat", "execute_tool", "ai.toolCall", "ai.x.doGenerate"]
    ),
    JSONISH.map(_dump),
)
ATTRS = st.dictionaries(ATTR_KEYS, ATTR_VALUES, max_size=8)
IDS = st.sampled_from(["a1", "a2", "a3", "", None, 5, "AAAAAAAAAAE="])


def _otlp_value(value: Any) -> Any:
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_otlp_value(v) for v in value]}}
    return {"intValue": str(value)} if isinstance(value, int) else value


OTLP_SPAN = st.fixed_dictionaries(
    {"spanId": IDS, "traceId": st.sampled_from(["t1", "t2"]), "attributes": ATTRS},
    optional={
        "parentSpanId": IDS,
        "status": JSONISH,
        "events": JSONISH,
        "startTimeUnixNano": SCALARS,
    },
).map(
    lambda s: {
        **s,
        "attributes": [{"key": k, "value": _otlp_value(v)} for k, v in s["attributes"].items()],
    }
)
OTLP = st.lists(OTLP_SPAN, min_size=1, max_size=4).map(
    lambda spans: {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
)
TREE_SPAN = st.recursive(
    st.fixed_dictionaries(
        {"span_id": IDS, "span_attributes": ATTRS},
        optional={
            "parent_span_id": IDS,
            "status_code": SCALARS,
            "events": JSONISH,
            "duration": SCALARS,
            "timestamp": SCALARS,
        },
    ),
    lambda children: st.builds(
        lambda s, c: {**s, "child_spans": c}, children, st.lists(children, max_size=3)
    ),
    max_leaves=6,
)
TREE = st.lists(TREE_SPAN, min_size=1, max_size=3).map(
    lambda spans: {"trace_id": "t", "spans": spans}
)
OBSERVATION = st.fixed_dictionaries(
    {"id": IDS, "type": st.sampled_from(["GENERATION", "SPAN", "TOOL", "EVENT"]), "traceId": IDS},
    optional={
        "parentObservationId": IDS,
        "input": ATTR_VALUES,
        "output": ATTR_VALUES,
        "usage": JSONISH,
        "usageDetails": JSONISH,
        "level": SCALARS,
        "metadata": JSONISH,
        "modelParameters": JSONISH,
        "isRootObservation": SCALARS,
        "tags": JSONISH,
    },
)
LANGFUSE = st.one_of(
    st.lists(OBSERVATION, min_size=1, max_size=4).map(lambda obs: {"data": obs}),
    st.lists(OBSERVATION, min_size=1, max_size=4).map(lambda obs: {"id": "t", "observations": obs}),
)
RUN = st.fixed_dictionaries(
    {"id": IDS, "run_type": st.sampled_from(["llm", "tool", "chain", "x"])},
    optional={
        "parent_run_id": IDS,
        "inputs": JSONISH,
        "outputs": JSONISH,
        "extra": JSONISH,
        "tags": JSONISH,
        "error": JSONISH,
        "dotted_order": SCALARS,
        "start_time": SCALARS,
    },
)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "tool", "system", "WebSurfer", ""])},
    optional={
        "content": ATTR_VALUES,
        "tool_calls": JSONISH,
        "name": SCALARS,
        "tool_call_id": SCALARS,
        "parts": JSONISH,
    },
)
TRANSCRIPT = st.one_of(
    st.lists(MESSAGE, min_size=1, max_size=5),
    st.lists(MESSAGE, min_size=1, max_size=5).map(lambda m: {"history": m}),
    st.lists(
        st.lists(MESSAGE, min_size=1, max_size=3).map(lambda m: {"traj": m}), min_size=1, max_size=3
    ),
)
SHAPED = st.one_of(OTLP, TREE, LANGFUSE, st.lists(RUN, min_size=1, max_size=4), TRANSCRIPT)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SHAPED, st.sampled_from([None, 0, 1, 3]))
def test_format_shaped_documents_raise_only_refinery_errors(
    tmp_path_factory: Any, doc: Any, select: int | None
) -> None:
    path: Path = tmp_path_factory.mktemp("shaped") / "trace.json"
    path.write_text(_dump(doc))
    try:
        trace = load_trace_file(path, select=select)
    except RefineryError:
        return
    assert all(trace.get(run.id) is run for run in trace.runs)
