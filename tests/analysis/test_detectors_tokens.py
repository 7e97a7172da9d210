from __future__ import annotations

from typing import Any

import pytest

from refinery.analysis.detectors import tokens
from refinery.analysis.detectors.excerpts import quotes
from refinery.analysis.findings import DetectorInput, Finding, Severity
from refinery.traces.model import Message, Run, RunKind, TokenUsage, ToolCall, Trace, build_trace


def _trace(*runs: Run, root_outputs: dict[str, Any] | None = None) -> Trace:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN, outputs=root_outputs)
    ordered = [r.model_copy(update={"order": f"{i:04d}"}) for i, r in enumerate(runs)]
    return build_trace((root, *ordered), trace_id="t", source="file", format="test")


def _llm(run_id: str, text: str = "", **fields: Any) -> Run:
    reply = Message(role="assistant", content=text, tool_calls=fields.pop("calls", ()))
    return Run(
        id=run_id,
        trace_id="t",
        parent_id="root",
        kind=RunKind.LLM,
        name="ChatOpenAI",
        output_messages=(reply,),
        outputs=fields.pop("outputs", {"content": text}),
        **fields,
    )


def _found(detect: object, trace: Trace) -> list[Finding]:
    found = list(detect(DetectorInput(trace=trace)))  # type: ignore[operator]
    for item in found:
        assert not item.evidence or quotes(trace.get(item.run_id), item.evidence), item  # type: ignore[arg-type]
    return found


@pytest.mark.parametrize("reason", ["length", "max_tokens", "MAX_TOKENS"])
def test_output_cut_at_the_token_limit(reason: str) -> None:
    text = '{"answer": "The flights are: AA100, BA2'
    run = _llm("l1", text, finish_reason=reason, invocation_params={"max_tokens": 12})
    [found] = _found(tokens.finish_length, _trace(run))
    assert (found.kind, found.severity, found.run_id) == ("finish_length", "high", "l1")
    assert found.evidence == text
    assert "max_tokens=12" in found.message


def test_normal_stops_are_not_truncations() -> None:
    runs = [_llm("a", "Hi", finish_reason="stop"), _llm("b", "", finish_reason="tool_calls")]
    assert _found(tokens.finish_length, _trace(*runs)) == []


def test_parser_failure_after_a_truncated_output() -> None:
    cut = _llm("l1", '{"items": [1, 2', finish_reason="length")
    parser = Run(
        id="p1",
        trace_id="t",
        parent_id="root",
        name="JsonOutputParser",
        kind=RunKind.PARSER,
        error='OutputParserException: Invalid json output: {"items": [1, 2',
    )
    [found] = _found(tokens.parse_after_truncation, _trace(cut, parser))
    assert (found.kind, found.severity, found.run_id) == ("parse_after_truncation", "high", "p1")
    assert found.evidence.startswith("OutputParserException")


def test_parser_failure_without_truncation_is_not_blamed_on_it() -> None:
    parser = Run(id="p1", trace_id="t", parent_id="root", kind=RunKind.PARSER, error="bad")
    trace = _trace(_llm("l1", "{}", finish_reason="stop"), parser)
    assert _found(tokens.parse_after_truncation, trace) == []


@pytest.mark.parametrize(
    ("prompt_tokens", "kind", "severity"),
    [
        (120_000, "near_context_window", Severity.HIGH),
        (100_000, "near_context_window", Severity.MEDIUM),
        (140_000, "near_context_window", Severity.HIGH),
    ],
)
def test_prompt_near_or_over_the_context_window(
    prompt_tokens: int, kind: str, severity: Severity
) -> None:
    system = Message(role="system", content="You are a travel agent. Follow the policy.")
    run = _llm(
        "l1",
        "ok",
        model="gpt-4o",
        usage=TokenUsage(prompt_tokens=prompt_tokens),
        input_messages=(system,),
    )
    [found] = _found(tokens.near_context_window, _trace(run))
    assert (found.kind, found.severity, found.run_id) == (kind, severity, "l1")
    assert found.evidence == "You are a travel agent. Follow the policy."
    assert "128,000" in found.message


def test_prompt_size_is_counted_when_usage_is_missing() -> None:
    big = Message(role="user", content="word " * 7_600)
    run = _llm("l1", "ok", model="llama3", input_messages=(big,))
    [found] = _found(tokens.near_context_window, _trace(run))
    assert (found.kind, found.severity) == ("near_context_window", Severity.HIGH)


def test_small_prompts_and_unknown_models_are_fine() -> None:
    small = _llm("a", "ok", model="gpt-4o", usage=TokenUsage(prompt_tokens=2_000))
    unknown = _llm("b", "ok", model="my-local-model", usage=TokenUsage(prompt_tokens=10**6))
    assert _found(tokens.near_context_window, _trace(small, unknown)) == []


def test_empty_llm_output_and_empty_final_output() -> None:
    empty = _llm("l1", "", outputs={"generations": [[{"text": "", "type": "ChatGeneration"}]]})
    found = _found(tokens.empty_outputs, _trace(empty, root_outputs={"output": ""}))
    assert {(f.kind, f.run_id, f.severity) for f in found} == {
        ("empty_output", "l1", "high"),
        ("empty_final_output", "root", "high"),
    }


def test_tool_calls_text_and_unrecorded_outputs_are_not_empty() -> None:
    call = ToolCall(id="1", name="search", arguments="{}")
    runs = (
        _llm("a", "", calls=(call,)),
        _llm("b", "Here you go"),
        Run(id="c", trace_id="t", parent_id="root", kind=RunKind.LLM),
    )
    trace = _trace(*runs, root_outputs={"output": "Here you go"})
    assert _found(tokens.empty_outputs, trace) == []
