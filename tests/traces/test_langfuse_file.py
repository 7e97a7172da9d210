"""Langfuse observations as files: a trace object, ``{"data": [...]}``, the shared normaliser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from refinery.errors import InputError
from refinery.traces import RunKind, load_trace_file
from refinery.traces.langfuse import observations_to_trace

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "langfuse_trace_refund_agent.json"
TRACE_ID = "c0ffee00-1111-4222-8333-944445555666"


def _observations() -> list[dict[str, Any]]:
    return list(json.loads(SAMPLE.read_text())["observations"])


def test_langfuse_trace_object_becomes_a_tree_under_the_trace() -> None:
    trace = load_trace_file(SAMPLE)
    assert trace.format == "langfuse"
    assert trace.id == TRACE_ID
    shape = [(run.id, trace.depth(run.id), run.kind) for run in trace.runs]
    assert shape == [
        (TRACE_ID, 0, RunKind.CHAIN),
        ("obs-agent-01", 1, RunKind.AGENT),
        ("obs-gen-02", 2, RunKind.LLM),
        ("obs-tool-03", 2, RunKind.TOOL),
        ("obs-gen-04", 2, RunKind.LLM),
        ("obs-event-05", 2, RunKind.OTHER),
    ]
    assert trace.root.inputs == {"question": "Can I get a refund for order 1182?"}
    assert trace.root.tags == ("support",)


def test_langfuse_generation_fields_from_json_text() -> None:
    run = load_trace_file(SAMPLE).get("obs-gen-02")
    assert run is not None
    assert run.model == "gpt-4.1-mini"
    assert run.invocation_params == {"temperature": "0", "max_tokens": "512"}
    assert (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.total_tokens) == (
        61,
        19,
        80,
    )
    assert [m.role for m in run.input_messages] == ["system", "user"]
    assert run.input_messages[0].content.startswith("You are a refund assistant.")
    (call,) = run.output_messages[0].tool_calls
    assert (call.id, call.name, call.arguments) == ("call_r1", "issue_refund", '{"order_id": 1182}')
    assert run.finish_reason == "tool_calls"
    assert run.available_tools == ("get_order", "issue_refund")
    assert run.metadata == {"ls_provider": "openai"}


def test_langfuse_error_level_tool_and_plain_text_output() -> None:
    trace = load_trace_file(SAMPLE)
    tool = trace.get("obs-tool-03")
    assert tool is not None
    assert (tool.status, tool.error) == (
        "error",
        "HTTP 409: order 1182 is not eligible for a refund",
    )
    assert (tool.tool_name, tool.tool_args, tool.tool_result) == (
        "issue_refund",
        '{"order_id": 1182}',
        None,
    )
    answer = trace.get("obs-gen-04")
    assert answer is not None
    assert answer.output_text == "Your refund has been issued."
    assert answer.input_messages[1].tool_call_id == "call_r1"
    event = trace.get("obs-event-05")
    assert event is not None and not event.failed
    assert event.metadata["langfuse.level"] == "WARNING"


def test_langfuse_data_list_as_the_api_returns_it(tmp_path: Path) -> None:
    path = tmp_path / "observations.json"
    path.write_text(json.dumps({"data": _observations(), "meta": {"cursor": None}}))
    trace = load_trace_file(path)
    assert trace.id == TRACE_ID
    assert [run.id for run in trace.roots] == ["obs-agent-01"]
    assert len(trace) == 5


def test_langfuse_observations_to_trace_for_the_fetcher() -> None:
    trace = observations_to_trace(
        _observations()[::-1], source="langfuse", origin="langfuse trace", trace_id=TRACE_ID
    )
    assert (trace.source, trace.format, trace.id) == ("langfuse", "langfuse", TRACE_ID)
    assert [run.id for run in trace.runs][:2] == ["obs-agent-01", "obs-gen-02"]


def test_langfuse_app_root_with_outside_parent_is_a_root() -> None:
    observations = _observations()
    observations[0] = {
        **observations[0],
        "parentObservationId": "elsewhere",
        "isRootObservation": True,
    }
    trace = observations_to_trace(observations, source="file", origin="x", trace_id=None)
    assert trace.root.id == "obs-agent-01"
    assert trace.root.parent_id is None


def test_langfuse_several_traces_need_a_choice(tmp_path: Path) -> None:
    other = {**_observations()[2], "id": "obs-x", "traceId": "t-2", "parentObservationId": None}
    path = tmp_path / "observations.json"
    path.write_text(json.dumps({"data": [*_observations(), other]}))
    with pytest.raises(InputError, match=r"holds 2 traces .*pick one with .*#N \(0-1\)"):
        load_trace_file(path)
    assert load_trace_file(Path(f"{path}#1")).id == "t-2"
