from __future__ import annotations

from refinery.analysis.evidence import run_text, verify_evidence
from refinery.models.diagnosis import Evidence
from refinery.traces.model import Message, Run, RunKind, ToolCall, build_trace


def _trace():  # type: ignore[no-untyped-def]
    root = Run(id="root", trace_id="t", kind=RunKind.CHAIN, inputs={"input": "Weather in Paris?"})
    tool = Run(
        id="tool",
        trace_id="t",
        parent_id="root",
        kind=RunKind.TOOL,
        tool_name="get_weather",
        tool_args='{"city": "Paris"}',
        error="ValueError: weather API down for Paris",
        status="error",
    )
    llm = Run(
        id="llm",
        trace_id="t",
        parent_id="root",
        kind=RunKind.LLM,
        input_messages=(Message(role="system", content="Never guess."),),
        output_messages=(
            Message(
                role="assistant",
                content="It is sunny.",
                tool_calls=(ToolCall(name="x", arguments='{"a": 1}'),),
            ),
        ),
        outputs={"generations": [{"text": "It is sunny.", "meta": {"score": 3}}]},
    )
    return build_trace([root, tool, llm], trace_id="t", source="file", format="langsmith-runs")


def test_run_text_holds_every_recorded_string() -> None:
    trace = _trace()
    text = run_text(trace.get("llm"))  # type: ignore[arg-type]
    for piece in ("Never guess.", "It is sunny.", '{"a": 1}', '"score": 3'):
        assert piece in text
    assert "weather API down" in run_text(trace.get("tool"))  # type: ignore[arg-type]


def test_verify_evidence_marks_a_verbatim_quote_in_its_run() -> None:
    result = verify_evidence(_trace(), Evidence(run_id="tool", quote="weather API down for Paris"))
    assert result.verified and result.run_id == "tool"


def test_verify_evidence_repoints_a_quote_found_in_another_run() -> None:
    result = verify_evidence(_trace(), Evidence(run_id="tool", quote="It is sunny."))
    assert result.verified and result.run_id == "llm"


def test_verify_evidence_rejects_a_paraphrase_and_an_empty_quote() -> None:
    trace = _trace()
    assert not verify_evidence(trace, Evidence(run_id="llm", quote="It was sunny")).verified
    assert not verify_evidence(trace, Evidence(run_id="llm", quote="  ")).verified
    assert not verify_evidence(trace, Evidence(run_id="nope", quote="made up")).verified
