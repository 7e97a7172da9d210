from __future__ import annotations

import json
from pathlib import Path

import pytest

from refinery.analysis.detectors import run_detectors, tools
from refinery.analysis.detectors.excerpts import quotes
from refinery.analysis.findings import DetectorInput, Finding, Severity
from refinery.traces.model import Message, Run, RunKind, ToolCall, Trace, build_trace
from refinery.traces.sources import load_trace, load_trace_file
from sample_paths import FIXTURES as SAMPLE_FIXTURES

FIXTURES = SAMPLE_FIXTURES
WEATHER = FIXTURES / "generated" / "langchain_fake_weather_agent.runs_query.json"


def _trace(*runs: Run) -> Trace:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN)
    return build_trace((root, *runs), trace_id="t", source="file", format="test")


def _tool(run_id: str, result: str | None, name: str = "lookup", **fields: object) -> Run:
    return Run(
        id=run_id,
        trace_id="t",
        parent_id="root",
        name=name,
        kind=RunKind.TOOL,
        tool_name=name,
        tool_result=result,
        **fields,  # type: ignore[arg-type]
    )


def _call(run_id: str, *calls: ToolCall, offered: tuple[str, ...] = ()) -> Run:
    reply = Message(role="assistant", tool_calls=calls)
    return Run(
        id=run_id,
        trace_id="t",
        parent_id="root",
        kind=RunKind.LLM,
        output_messages=(reply,),
        available_tools=offered,
    )


def _found(detect: object, trace: Trace) -> list[Finding]:
    found = list(detect(DetectorInput(trace=trace)))  # type: ignore[operator]
    for item in found:
        assert not item.evidence or quotes(trace.get(item.run_id), item.evidence), item  # type: ignore[arg-type]
    return found


def test_error_text_in_a_tool_message_with_status_ok_is_found() -> None:
    trace = load_trace(WEATHER)
    [found] = _found(tools.tool_output_errors, trace)
    assert (found.kind, found.severity) == ("tool_output_error", Severity.HIGH)
    assert found.evidence == "ERROR: weather API down for Paris"
    assert trace.get(found.run_id).kind is RunKind.LLM  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("result", "kind", "severity"),
    [
        ("404 Not Found: /v1/users/42", "tool_output_error", "high"),
        ('{"detail": "boom", "status_code": 500}', "infrastructure_error", "high"),
        ("upstream returned status code 500", "infrastructure_error", "high"),
        (
            "Request failed: 429 Too Many Requests; rate limit exceeded",
            "infrastructure_error",
            "high",
        ),
        ("The request timed out after 30s", "infrastructure_error", "high"),
        (
            'Traceback (most recent call last):\n  File "a.py"\nKeyError: 1',
            "tool_output_error",
            "high",
        ),
        ('{"error": "unknown user id"}', "tool_output_error", "high"),
        ("Error: user not found", "tool_output_error", "high"),
        ("PermissionError: [Errno 13] Permission denied: '/etc/x'", "tool_output_error", "high"),
        ("User 'abc' not found in the reservations database", "tool_output_error", "medium"),
        ("Invalid date format, expected YYYY-MM-DD", "tool_output_error", "medium"),
    ],
)
def test_error_signatures_in_ok_tool_results(result: str, kind: str, severity: str) -> None:
    [found] = _found(tools.tool_output_errors, _trace(_tool("t1", result)))
    assert (found.kind, found.severity, found.run_id) == (kind, severity, "t1")
    assert found.evidence in result


@pytest.mark.parametrize(
    "result",
    [
        "Paris: 18°C, light rain. Timeout settings are documented at /docs.",
        '{"error": null, "temperature": 18}',
        "The error handling chapter explains retries; 404 pages are customisable.",
        "Found 3 flights: AA100 (500 USD), BA200 (450 USD).",
        "The invalidation of caches happens nightly.",
        '{"status": "ok", "success": true, "items": [1, 2]}',
    ],
)
def test_normal_tool_results_are_not_errors(result: str) -> None:
    assert _found(tools.tool_output_errors, _trace(_tool("t1", result))) == []


def test_tool_message_reported_by_a_tool_run_is_not_reported_twice() -> None:
    text = "Error: booking 7 not found"
    history = (Message(role="tool", content=text, tool_call_id="c1"),)
    llm = Run(id="l1", trace_id="t", parent_id="root", kind=RunKind.LLM, input_messages=history)
    found = _found(tools.tool_output_errors, _trace(_tool("t1", text), llm))
    assert [f.run_id for f in found] == ["t1"]


def test_call_to_a_tool_the_model_was_not_offered() -> None:
    call = ToolCall(id="1", name="delete_account", arguments="{}")
    trace = _trace(_call("l1", call, offered=("get_weather", "search")))
    [found] = _found(tools.tool_call_problems, trace)
    assert (found.kind, found.severity, found.evidence) == (
        "unknown_tool",
        "high",
        "delete_account",
    )


def test_call_to_a_tool_no_tool_run_has_when_no_list_was_recorded() -> None:
    call = ToolCall(id="1", name="get_wether", arguments='{"city": "Paris"}')
    trace = _trace(_call("l1", call), _tool("t1", "18C", name="get_weather"))
    [found] = _found(tools.tool_call_problems, trace)
    assert (found.kind, found.severity, found.run_id) == ("unknown_tool", "medium", "l1")


def test_offered_tools_with_valid_arguments_are_fine() -> None:
    call = ToolCall(id="1", name="get_weather", arguments='{"city": "Paris"}')
    trace = _trace(_call("l1", call, offered=("get_weather",)), _tool("t1", "18C", "get_weather"))
    assert _found(tools.tool_call_problems, trace) == []


def test_arguments_that_do_not_parse_as_json() -> None:
    call = ToolCall(id="1", name="search", arguments='{"query": "flights to Par')
    [found] = _found(tools.tool_call_problems, _trace(_call("l1", call, offered=("search",))))
    assert (found.kind, found.severity) == ("bad_tool_arguments", "high")
    assert found.evidence == '{"query": "flights to Par'


@pytest.mark.parametrize("result", ["", "  ", "[]", "null"])
def test_empty_tool_results(result: str) -> None:
    [found] = _found(tools.empty_tool_results, _trace(_tool("t1", result)))
    assert (found.kind, found.run_id, found.severity) == ("empty_tool_result", "t1", "medium")


def test_tool_without_recorded_output_or_with_content_is_not_empty() -> None:
    trace = _trace(
        _tool("t1", None), _tool("t2", "0"), _tool("t3", None, error="x", status="error")
    )
    assert _found(tools.empty_tool_results, trace) == []


def test_a_scratchpad_tools_empty_result_is_by_design_and_the_last_worded_turn_is_the_answer(
    tmp_path: Path,
) -> None:
    # tau-bench's "think" tool always returns "", and the episode ends with a tool-only turn.
    think = {
        "id": "t1",
        "type": "function",
        "function": {"name": "think", "arguments": '{"thought": "check policy"}'},
    }
    lookup = {"id": "t2", "type": "function", "function": {"name": "find_order", "arguments": "{}"}}
    transfer = {
        "id": "t3",
        "type": "function",
        "function": {"name": "transfer_to_human_agents", "arguments": "{}"},
    }
    messages = [
        {"role": "user", "content": "Return my order."},
        {"role": "assistant", "content": "", "tool_calls": [think]},
        {"role": "tool", "tool_call_id": "t1", "name": "think", "content": ""},
        {"role": "assistant", "content": "", "tool_calls": [lookup]},
        {"role": "tool", "tool_call_id": "t2", "name": "find_order", "content": ""},
        {"role": "assistant", "content": "I will transfer you.", "tool_calls": []},
        {"role": "assistant", "content": "", "tool_calls": [transfer]},
        {"role": "tool", "tool_call_id": "t3", "name": "transfer_to_human_agents",
         "content": "Transfer successful"},
    ]  # fmt: skip
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(messages), encoding="utf-8")
    trace = load_trace_file(path)
    found = run_detectors(DetectorInput(trace=trace, expected="should confirm first"))
    empty = [f for f in found if f.kind == "empty_tool_result"]
    assert [trace.get(f.run_id).tool_name for f in empty] == ["find_order"]  # type: ignore[union-attr]
    assert trace.root.outputs == {"content": "I will transfer you."}
    assert not [f for f in found if f.kind == "empty_final_output"]
