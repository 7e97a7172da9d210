"""OTLP JSON / JSON Lines with OpenInference, OTel GenAI and Vercel attributes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from refinery.errors import InputError
from refinery.traces import RunKind, load_trace_file
from refinery.traces.otlp import parse
from sample_paths import FIXTURES as SAMPLE_FIXTURES

FIXTURES = SAMPLE_FIXTURES
WEATHER = FIXTURES / "generated" / "weather_agent.otlp.jsonl"
GENAI = FIXTURES / "openinference" / "genai"
VERCEL = FIXTURES / "openinference" / "vercel-v6-spans" / "all-spans.json"


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_value(v) for v in value]}}
    return {"stringValue": value}


def _span(span_id: str, attributes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": span_id,
        "name": extra.pop("name", "span"),
        "kind": 1,
        "startTimeUnixNano": extra.pop("start", "1700000000000000000"),
        "endTimeUnixNano": "1700000001000000000",
        "attributes": [{"key": k, "value": _value(v)} for k, v in attributes.items()],
        **extra,
    }


def _envelope(*spans: dict[str, Any]) -> dict[str, Any]:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": list(spans)}]}]}


def _write(tmp_path: Path, doc: Any, name: str = "trace.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _one_span(tmp_path: Path, attributes: dict[str, Any]) -> Any:
    trace = load_trace_file(_write(tmp_path, _envelope(_span("b7ad6b7169203331", attributes))))
    assert trace.format == "otlp"
    assert len(trace) == 1
    return trace.runs[0]


def test_otlp_rebuilds_tree_from_parent_span_id() -> None:
    trace = load_trace_file(WEATHER)
    assert trace.format == "otlp"
    assert trace.id == "61437a50f15ba1a2f9fe142a0b9712db"
    assert [run.id for run in trace.runs] == [
        "dff98320490736c4",
        "62fb12bae29991c9",
        "061fb64ae15b108f",
        "1de17d3142deccff",
    ]
    assert [trace.depth(run.id) for run in trace.runs] == [0, 1, 1, 1]
    assert [run.kind for run in trace.runs] == [
        RunKind.AGENT,
        RunKind.LLM,
        RunKind.TOOL,
        RunKind.LLM,
    ]
    assert trace.metadata["resource"]["service.name"] == "weather-bot"


def test_otlp_reads_openinference_llm_span() -> None:
    llm = load_trace_file(WEATHER).runs[1]
    assert llm.model == "gpt-4o-mini"
    assert llm.provider == "openai"
    assert (llm.usage.prompt_tokens, llm.usage.completion_tokens, llm.usage.total_tokens) == (
        42,
        7,
        49,
    )
    assert llm.finish_reason == "tool_calls"
    assert [(m.role, m.content) for m in llm.input_messages] == [
        ("system", "You are a weather bot. Never guess; if a tool fails say so."),
        ("user", "Weather in Paris?"),
    ]
    (call,) = llm.output_messages[0].tool_calls
    assert (call.id, call.name, call.arguments) == ("call_1", "get_weather", '{"city": "Paris"}')
    assert llm.start_time is not None and llm.start_time.year == 2026


def test_otlp_tool_span_with_error_status_and_exception_event() -> None:
    trace = load_trace_file(WEATHER)
    tool = trace.get("061fb64ae15b108f")
    assert tool is not None
    assert tool.status == "error"
    assert tool.failed
    assert tool.error is not None
    assert tool.error.startswith("ValueError: weather API down for Paris")
    assert (tool.tool_name, tool.tool_args) == ("get_weather", '{"city": "Paris"}')
    last = trace.runs[-1]
    assert last.input_messages[2].role == "tool"
    assert last.input_messages[2].tool_call_id == "call_1"
    assert last.output_text == "It is sunny in Paris."


def test_otlp_canonical_example_keeps_hex_ids_and_makes_lone_orphan_a_root() -> None:
    trace = load_trace_file(FIXTURES / "otlp" / "trace.json")
    (run,) = trace.runs
    assert run.id == "EEE19B7EC3C1B174"
    assert trace.id == "5B8EFFF798038103D269B633813FC60C"
    assert run.parent_id is None
    assert run.metadata["otel.parent_span_id"] == "EEE19B7EC3C1B173"
    assert run.metadata["my.span.attr"] == "some value"
    assert run.end_time is not None and run.start_time is not None
    assert (run.end_time - run.start_time).total_seconds() == 1


def test_otlp_genai_span_with_parts_messages(tmp_path: Path) -> None:
    attributes = json.loads((GENAI / "otel_genai_client_span_tool_calls.json").read_text())
    run = _one_span(tmp_path, attributes)
    assert run.kind is RunKind.LLM
    assert run.model == "gpt-4-0613"
    assert run.provider == "openai"
    assert run.invocation_params == {"max_tokens": 200, "temperature": 0.5, "top_p": 0.9}
    assert (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.total_tokens) == (
        97,
        52,
        149,
    )
    assert run.finish_reason == "stop"
    roles = [(m.role, m.content) for m in run.input_messages]
    assert roles == [
        ("user", "Weather in Paris?"),
        ("assistant", "Absolutely! Let me check the weather for you."),
        ("tool", "rainy, 57°F"),
    ]
    (call,) = run.input_messages[1].tool_calls
    assert (call.id, call.name, json.loads(call.arguments)) == (
        "1234",
        "get_weather",
        {"location": "Paris"},
    )
    assert run.input_messages[2].tool_call_id == "1234"
    assert run.output_text == "The weather in Paris is currently rainy with a temperature of 57°F."


def test_otlp_deprecated_genai_prompt_and_completion(tmp_path: Path) -> None:
    attributes = json.loads(
        (GENAI / "otel_genai_deprecated_client_span_tool_calls.json").read_text()
    )
    run = _one_span(tmp_path, attributes)
    assert run.kind is RunKind.LLM
    assert [m.role for m in run.input_messages] == ["user", "assistant", "tool"]
    assert run.output_messages[0].role == "assistant"
    assert run.output_text.startswith("The weather in Paris is currently rainy")
    assert run.finish_reason == "stop"


def test_otlp_deprecated_indexed_genai_prompt_names(tmp_path: Path) -> None:
    run = _one_span(
        tmp_path,
        {
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "Be brief.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "Add 2 and 3",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.finish_reason": "tool_calls",
            "gen_ai.completion.0.tool_calls.0.id": "c9",
            "gen_ai.completion.0.tool_calls.0.name": "add",
            "gen_ai.completion.0.tool_calls.0.arguments": '{"a": 2, "b": 3}',
            "gen_ai.usage.prompt_tokens": 20,
            "gen_ai.usage.completion_tokens": 9,
        },
    )
    assert run.kind is RunKind.LLM
    assert run.provider == "openai"
    assert [(m.role, m.content) for m in run.input_messages] == [
        ("system", "Be brief."),
        ("user", "Add 2 and 3"),
    ]
    (call,) = run.output_messages[0].tool_calls
    assert (call.id, call.name, call.arguments) == ("c9", "add", '{"a": 2, "b": 3}')
    assert run.finish_reason == "tool_calls"
    assert (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.total_tokens) == (
        20,
        9,
        29,
    )


def test_otlp_genai_tool_execution_span(tmp_path: Path) -> None:
    attributes = json.loads((GENAI / "otel_genai_tool_execution_span.json").read_text())
    run = _one_span(tmp_path, attributes)
    assert run.kind is RunKind.TOOL
    assert run.tool_name == "get_weather"
    assert json.loads(run.tool_args or "") == {"city": "New York"}
    assert json.loads(run.tool_result or "")["status"] == "success"


def test_otlp_genai_tool_call_arguments_and_result(tmp_path: Path) -> None:
    run = _one_span(
        tmp_path,
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "lookup",
            "gen_ai.tool.call.arguments": '{"id": 7}',
            "gen_ai.tool.call.result": "not found",
        },
    )
    assert (run.kind, run.tool_name, run.tool_args, run.tool_result) == (
        RunKind.TOOL,
        "lookup",
        '{"id": 7}',
        "not found",
    )


@pytest.mark.parametrize(
    "name",
    [
        "openinference_client_span_tool_calls.json",
        "openinference_client_span_input_output_only.json",
    ],
)
def test_otlp_openinference_attribute_maps(tmp_path: Path, name: str) -> None:
    run = _one_span(tmp_path, json.loads((GENAI / name).read_text()))
    assert run.kind is RunKind.LLM
    assert run.model == "gpt-4-0613"
    assert run.invocation_params["temperature"] == 0.5
    assert run.usage is not None and run.usage.total_tokens == 149
    assert [m.role for m in run.input_messages] == ["user", "assistant", "tool"]
    assert run.input_messages[0].content == "Weather in Paris?"
    assert run.input_messages[1].tool_calls[0].name == "get_weather"
    assert run.output_text == "The weather in Paris is currently rainy with a temperature of 57°F."


def test_otlp_vercel_ai_sdk_spans(tmp_path: Path) -> None:
    dumped = json.loads(VERCEL.read_text())
    by_operation = {s["attributes"]["ai.operationId"]: s for s in dumped}
    spans = [
        _span(s["spanContext"]["spanId"], s["attributes"], name=s["name"])
        for s in (by_operation["ai.streamText"], by_operation["ai.streamText.doStream"])
    ]
    spans[1]["parentSpanId"] = spans[0]["spanId"]
    trace = load_trace_file(_write(tmp_path, _envelope(*spans)))
    outer, call = trace.runs
    assert (outer.kind, call.kind) == (RunKind.CHAIN, RunKind.LLM)
    assert trace.depth(call.id) == 1
    assert call.model == "gpt-4o-mini-2024-07-18"
    assert call.provider == "openai"
    assert call.finish_reason == "stop"
    assert (call.usage.prompt_tokens, call.usage.completion_tokens) == (15, 112)
    assert call.input_messages[0].content == "Write a short poem about TypeScript."
    assert call.output_text.startswith("In code’s embrace")
    assert outer.input_messages[0].content == "Write a short poem about TypeScript."


def test_otlp_vercel_tool_call_span(tmp_path: Path) -> None:
    run = _one_span(
        tmp_path,
        {
            "ai.operationId": "ai.toolCall",
            "ai.toolCall.name": "weather",
            "ai.toolCall.id": "call_9",
            "ai.toolCall.args": '{"city":"Oslo"}',
            "ai.toolCall.result": '{"temp":3}',
        },
    )
    assert (run.kind, run.tool_name, run.tool_args, run.tool_result) == (
        RunKind.TOOL,
        "weather",
        '{"city":"Oslo"}',
        '{"temp":3}',
    )


def test_otlp_json_lines_merge_into_one_trace(tmp_path: Path) -> None:
    root = _span("00000000000000a1", {"openinference.span.kind": "CHAIN"})
    child = _span(
        "00000000000000a2",
        {"openinference.span.kind": "TOOL", "tool.name": "t"},
        parentSpanId="00000000000000a1",
        start="1700000000500000000",
    )
    path = tmp_path / "spans.jsonl"
    path.write_text(json.dumps(_envelope(child)) + "\n" + json.dumps(_envelope(root)) + "\n")
    trace = load_trace_file(path)
    assert [run.id for run in trace.runs] == ["00000000000000a1", "00000000000000a2"]
    assert trace.parent("00000000000000a2").id == "00000000000000a1"  # type: ignore[union-attr]


def test_otlp_several_traces_are_refused_and_selectable(tmp_path: Path) -> None:
    first = _span("00000000000000b1", {})
    second = {**_span("00000000000000b2", {}), "traceId": "ffffffffffffffffffffffffffffffff"}
    path = _write(tmp_path, _envelope(first, second))
    with pytest.raises(InputError) as caught:
        load_trace_file(path)
    message = str(caught.value)
    assert "holds 2 traces" in message
    assert "0af7651916cd43dd8448eb211c80319c" in message
    assert "ffffffffffffffffffffffffffffffff" in message
    assert "#N (0-1)" in message
    picked = load_trace_file(Path(f"{path}#1"))
    assert picked.id == "ffffffffffffffffffffffffffffffff"
    assert [run.id for run in picked.runs] == ["00000000000000b2"]


def test_otlp_dangling_parent_beside_a_root_is_an_error(tmp_path: Path) -> None:
    root = _span("00000000000000c1", {})
    lost = _span("00000000000000c2", {}, parentSpanId="00000000000000ff")
    with pytest.raises(InputError, match="span 00000000000000c2 names parent 00000000000000ff"):
        load_trace_file(_write(tmp_path, _envelope(root, lost)))


def test_otlp_base64_ids_become_hex() -> None:
    doc = _envelope(_span("AAAAAAAAAAE=", {}, traceId="AAAAAAAAAAAAAAAAAAAAAQ=="))
    trace = parse(doc, "inline")
    assert trace.runs[0].id == "0000000000000001"
    assert trace.id == "00000000000000000000000000000001"


def test_otlp_status_codes(tmp_path: Path) -> None:
    spans = [
        _span("00000000000000d1", {}, status={"code": "STATUS_CODE_OK"}),
        _span(
            "00000000000000d2",
            {},
            status={"code": 2, "message": "boom"},
            parentSpanId="00000000000000d1",
        ),
        _span("00000000000000d3", {}, parentSpanId="00000000000000d1"),
    ]
    runs = {run.id: run for run in load_trace_file(_write(tmp_path, _envelope(*spans)))}
    assert runs["00000000000000d1"].status == "ok"
    assert (runs["00000000000000d2"].status, runs["00000000000000d2"].error) == ("error", "boom")
    assert runs["00000000000000d3"].status == "unset"
