from __future__ import annotations

from refinery.analysis.detectors import loops
from refinery.analysis.detectors.excerpts import quotes
from refinery.analysis.findings import DetectorInput, Finding, Severity
from refinery.traces.model import Message, Run, RunKind, ToolCall, Trace, build_trace


def _trace(*runs: Run) -> Trace:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN)
    ordered = [r.model_copy(update={"order": f"{i:04d}"}) for i, r in enumerate(runs)]
    return build_trace((root, *ordered), trace_id="t", source="file", format="test")


def _tool(run_id: str, args: str, name: str = "search", **fields: object) -> Run:
    return Run(
        id=run_id,
        trace_id="t",
        parent_id="root",
        name=name,
        kind=RunKind.TOOL,
        tool_name=name,
        tool_args=args,
        tool_result=fields.pop("result", "ok"),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


def _llm(run_id: str, text: str = "", *calls: ToolCall) -> Run:
    reply = Message(role="assistant", content=text, tool_calls=calls)
    return Run(
        id=run_id, trace_id="t", parent_id="root", kind=RunKind.LLM, output_messages=(reply,)
    )


def _found(detect: object, trace: Trace) -> list[Finding]:
    found = list(detect(DetectorInput(trace=trace)))  # type: ignore[operator]
    for item in found:
        assert not item.evidence or quotes(trace.get(item.run_id), item.evidence), item  # type: ignore[arg-type]
    return found


def test_same_tool_and_arguments_three_times_is_a_high_loop() -> None:
    trace = _trace(
        _tool("a", '{"q": "paris", "n": 3}'),
        _llm("l1", "Let me try again"),
        _tool("b", '{"n": 3, "q": "paris"}'),
        _llm("l2", "Searching once more"),
        _tool("c", '{"q": "paris", "n": 3}'),
        _tool("d", '{"q": "paris", "n": 3}'),
    )
    [found] = _found(loops.repeated_tool_calls, trace)
    assert (found.kind, found.severity, found.run_id) == ("loop_tool_call", "high", "c")
    assert "4 times" in found.message


def test_two_identical_calls_in_a_row_is_a_medium_loop() -> None:
    trace = _trace(_tool("a", '{"q": "x"}'), _tool("b", '{"q": "x"}'))
    [found] = _found(loops.repeated_tool_calls, trace)
    assert (found.severity, found.run_id) == (Severity.MEDIUM, "b")


def test_different_arguments_or_spaced_pairs_are_not_loops() -> None:
    trace = _trace(
        _tool("a", '{"q": "x"}'),
        _tool("b", '{"q": "y"}'),
        _tool("c", '{"q": "x"}'),
        _tool("d", '{"q": "x"}', name="other"),
    )
    assert _found(loops.repeated_tool_calls, trace) == []


def test_model_tool_calls_are_counted_when_there_are_no_tool_runs() -> None:
    call = ToolCall(id="1", name="get_weather", arguments='{"city": "Paris"}')
    trace = _trace(*(_llm(f"l{i}", "", call) for i in range(3)))
    [found] = _found(loops.repeated_tool_calls, trace)
    assert (found.run_id, found.evidence) == ("l2", '{"city": "Paris"}')


def test_repeated_llm_output() -> None:
    text = "I am sorry, I could not find that booking."
    trace = _trace(
        _llm("l1", text), _llm("l2", "Let me check."), _llm("l3", text), _llm("l4", text)
    )
    [found] = _found(loops.repeated_llm_outputs, trace)
    assert (found.kind, found.severity, found.run_id, found.evidence) == (
        "repeated_output",
        "high",
        "l3",
        text,
    )


def test_short_or_distinct_llm_outputs_are_not_repeats() -> None:
    trace = _trace(_llm("l1", "OK"), _llm("l2", "OK"), _llm("l3", "A longer first answer"))
    assert _found(loops.repeated_llm_outputs, trace) == []


def test_retry_after_error_that_then_succeeded() -> None:
    trace = _trace(
        _tool("a", "{}", name="fetch", error="HTTP 503 Service Unavailable", status="error"),
        _tool("b", "{}", name="fetch"),
    )
    [found] = _found(loops.retries_after_errors, trace)
    assert (found.kind, found.severity, found.run_id) == ("retry_after_error", "medium", "a")
    assert found.evidence == "HTTP 503 Service Unavailable"
    assert "2 times" in found.message and "succeeded" in found.message


def test_retries_that_kept_failing_are_high() -> None:
    runs = [_tool(x, "{}", name="fetch", error="timed out", status="error") for x in "abc"]
    [found] = _found(loops.retries_after_errors, _trace(*runs))
    assert (found.severity, found.run_id) == (Severity.HIGH, "a")
    assert "3 times" in found.message


def test_runs_after_a_success_are_not_retries() -> None:
    trace = _trace(_tool("a", "{}", name="fetch"), _tool("b", "{}", name="fetch"))
    assert _found(loops.retries_after_errors, trace) == []


def test_a_later_call_of_the_same_tool_with_other_arguments_is_not_a_retry() -> None:
    trace = _trace(
        _tool("a", '{"city": "Paris"}', name="fetch", error="timed out", status="error"),
        _tool("b", '{"city": "Rome"}', name="fetch"),
    )
    assert _found(loops.retries_after_errors, trace) == []
