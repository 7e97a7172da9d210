"""Chat message shapes: OpenAI variants, Anthropic content blocks, Gemini parts, and the reader bugs
that used to turn tool results into anonymous "tool" runs (and then into false loops)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from refinery.analysis.detectors import loops
from refinery.analysis.findings import DetectorInput
from refinery.errors import InputError
from refinery.traces import RunKind, Trace, load_trace_file
from sample_paths import DATA

SHAPES = DATA / "frameworks"


def _write(tmp_path: Path, doc: Any, name: str = "chat.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _tools(trace: Trace) -> list[tuple[str | None, str | None, str | None]]:
    return [(r.tool_name, r.tool_args, r.error) for r in trace.of_kind(RunKind.TOOL)]


def _call(call_id: str, name: str, args: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def test_results_linked_by_id_keep_their_tool_names_and_make_no_loop(tmp_path: Path) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Plan my trip"}]
    for n, (name, args) in enumerate([("flights", '{"to": "NYC"}'), ("hotels", '{"city": "NYC"}')]):
        messages.append({"role": "assistant", "tool_calls": [_call(f"c{n}", name, args)]})
        messages.append({"role": "tool", "id": f"c{n}", "content": "[]"})
    messages.append({"role": "assistant", "tool_calls": [_call("c9", "cars", '{"city": "NYC"}')]})
    messages.append({"role": "tool", "id": "c9", "content": "[]"})
    trace = load_trace_file(_write(tmp_path, {"messages": messages}))
    assert [name for name, _, _ in _tools(trace)] == ["flights", "hotels", "cars"]
    assert all(run.name != "tool" for run in trace.of_kind(RunKind.TOOL))
    assert list(loops.repeated_tool_calls(DetectorInput(trace=trace))) == []


def test_function_as_a_string_with_args_beside_it_is_a_call(tmp_path: Path) -> None:
    call = {"id": "t1", "function": "lookup", "arguments": {"sku": "A-1"}}
    doc = [
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "t1", "content": "in stock"},
    ]
    trace = load_trace_file(_write(tmp_path, doc))
    assert _tools(trace) == [("lookup", '{"sku": "A-1"}', None)]
    assert trace.counts().tool_calls == 1


@pytest.mark.parametrize(
    ("error", "content", "expected"),
    [
        ({"type": "ToolException", "message": "carrier API returned 502"}, "", "carrier API"),
        ("permission denied", "", "permission denied"),
        (True, "Error: order not found", "Error: order not found"),
    ],
)
def test_an_error_field_on_a_tool_message_fails_its_run(
    tmp_path: Path, error: Any, content: str, expected: str
) -> None:
    doc = [
        {"role": "assistant", "tool_calls": [_call("a", "ship", "{}")]},
        {"role": "tool", "tool_call_id": "a", "content": content, "error": error},
    ]
    trace = load_trace_file(_write(tmp_path, doc))
    [tool] = trace.of_kind(RunKind.TOOL)
    assert tool.failed and tool.error is not None and expected in tool.error
    assert trace.counts().errors == 1


def test_openai_variants_legacy_function_call_named_roles_and_id_links() -> None:
    trace = load_trace_file(SHAPES / "openai_chat_variants.json")
    assert _tools(trace) == [
        ("track_parcel", '{"parcel_id": "7781"}', None),
        ("get_eta", '{"parcel_id": "7781"}', "carrier API returned 502"),
    ]
    user = trace.get("msg-1")
    assert user is not None and user.name == "dana" and user.kind is RunKind.OTHER
    counts = trace.counts()
    assert (counts.tool_calls, counts.tool_results, counts.errors) == (2, 2, 1)


def test_anthropic_blocks_tool_use_and_tool_result_with_is_error() -> None:
    raw = json.loads((SHAPES / "anthropic_messages_balance.json").read_text())
    trace = load_trace_file(SHAPES / "anthropic_messages_balance.json")
    system = trace.get("prompt")
    assert system is not None and system.output_messages[0].content == raw["system"]
    assert [run.id for run in trace.runs][1:] == [
        "prompt",
        *(f"msg-{n}" for n in range(5)),
        "msg-4.1",
        "msg-5",
    ]
    failure = "ConnectionError: core banking API unreachable"
    assert _tools(trace) == [("get_balance", '{"account_id": "88-1203"}', failure)] * 2
    follow_up = trace.get("msg-4.1")  # the text beside the second tool_result block
    assert follow_up is not None and follow_up.output_messages[0].content == "Any luck?"
    asked = trace.get("msg-1")
    assert asked is not None and asked.output_messages[0].content == "I'll look that up for you."
    assert trace.root.outputs == {"content": "Your balance is $2,450.00."}


def test_gemini_contents_function_call_and_response_with_error() -> None:
    trace = load_trace_file(SHAPES / "gemini_contents_weather.json")
    [tool] = trace.of_kind(RunKind.TOOL)
    assert (tool.id, tool.tool_name, tool.tool_args) == (
        "msg-2",
        "get_current_weather",
        '{"location": "Boston, MA"}',
    )
    assert tool.error == "upstream timeout after 10s"
    reply = trace.get("msg-3")
    assert reply is not None and reply.kind is RunKind.LLM
    assert trace.counts().agents == ()  # "model" is Gemini's assistant, not an agent's name


def test_an_unknown_content_part_is_an_error_not_a_silent_drop(tmp_path: Path) -> None:
    doc = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "hologram", "data": "..."}]},
        ]
    }
    with pytest.raises(InputError) as caught:
        load_trace_file(_write(tmp_path, doc))
    assert "message 1 holds a content part of type 'hologram'" in str(caught.value)
    assert "tool_use/tool_result" in str(caught.value)


def test_an_unknown_file_names_the_understood_shapes(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_trace_file(_write(tmp_path, {"dialogue": {"turns": [{"who": "agent"}]}}))
    message = str(caught.value)
    assert "no known trace format" in message
    assert "\n" not in message
    for shape in ("SWE-agent", "smolagents", "pydantic-ai", "OpenAI Agents SDK", "Gemini"):
        assert shape in message


def test_responses_api_items_of_the_agents_sdk_input_list() -> None:
    trace = load_trace_file(SHAPES / "openai_agents_input_list.json")
    [tool] = trace.of_kind(RunKind.TOOL)
    assert (tool.id, tool.tool_name, tool.tool_args) == (
        "msg-2",
        "lookup_flight",
        '{"confirmation":"ZX42Q"}',
    )
    assert tool.tool_result is not None and tool.tool_result.startswith("An error occurred")
    final = trace.get("msg-3")
    assert final is not None and final.output_messages[0].content.startswith("Your flight ZX42Q")
    assert trace.root.inputs["messages"][0]["role"] == "user"
