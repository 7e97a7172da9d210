from __future__ import annotations

import math
from pathlib import Path

import pytest
from bpe_openai import _bindings

from refinery.analysis.tokens import HealthLabel, analyse_tokens, run_tokens
from refinery.traces import Message, Run, RunKind, TokenUsage, Trace, build_trace, load_trace_file
from sample_paths import FIXTURES as SAMPLE_FIXTURES

SHARED = SAMPLE_FIXTURES
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "weather-agent" / "trace.json"
PROSE = "The agent looked up the order, found it had shipped, and told the customer so. "


def _reference(text: str, encoding: str = "o200k_base") -> int:
    return int(_bindings.tokenizer_for_encoding(encoding).count(text))


def _trace(*runs: Run) -> Trace:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN, order="0")
    return build_trace([root, *runs], trace_id="t", source="file", format="test")


def _llm(run_id: str, order: str, model: str | None, prompt: int | None, **extra: object) -> Run:
    usage = TokenUsage(prompt_tokens=prompt, completion_tokens=10) if prompt is not None else None
    return Run(
        id=run_id, trace_id="t", parent_id="root", order=order, name="chat",
        kind=RunKind.LLM, model=model, usage=usage, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


# runs -----------------------------------------------------------------------------------------


def test_reported_usage_wins_over_counting() -> None:
    run = _llm("a", "1", "gpt-4o", 1234, input_messages=(Message(role="user", content="hi"),))
    tokens = run_tokens(run)
    assert (tokens.prompt_tokens, tokens.completion_tokens, tokens.reported) == (1234, 10, True)


def test_unreported_llm_call_is_counted_with_chat_framing() -> None:
    messages = (Message(role="system", content="Be brief."), Message(role="user", content=PROSE))
    run = _llm("a", "1", "gpt-4o", None, input_messages=messages)
    tokens = run_tokens(run)
    expected = (3 + _reference("Be brief.")) + (3 + _reference(PROSE)) + 3
    assert (tokens.prompt_tokens, tokens.reported, tokens.estimated) == (expected, False, False)


def test_counted_call_is_within_a_token_of_what_openai_reported() -> None:
    folder = SHARED / "langsmith-sdk"
    reported = load_trace_file(folder / "langsmith_py_wrap_openai_stream.json").runs[0]
    unreported = load_trace_file(folder / "langsmith_py_wrap_openai_stream_no_usage.json").runs[0]
    counted = run_tokens(unreported)
    assert reported.usage is not None and not counted.reported
    assert counted.completion_tokens == reported.usage.completion_tokens
    assert abs(counted.prompt_tokens - (reported.usage.prompt_tokens or 0)) <= 1


def test_tool_run_counts_arguments_and_result_and_is_estimated_without_a_model() -> None:
    run = Run(id="x", trace_id="t", kind=RunKind.TOOL, tool_args='{"q": "a"}', tool_result=PROSE)
    tokens = run_tokens(run)
    assert tokens.completion_tokens == math.ceil(_reference(PROSE) * 1.1)
    assert tokens.estimated and not tokens.reported


# reports --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [EXAMPLE, SHARED / "generated" / "weather_agent.otlp.jsonl"], ids=["langsmith", "otlp"]
)
def test_total_is_the_sum_of_reported_usage(path: Path) -> None:
    trace = load_trace_file(path)
    report = analyse_tokens(trace, "gpt-4o-mini")
    usage = [r.usage for r in trace.runs if r.kind is RunKind.LLM and r.usage]
    assert usage
    assert report.total_tokens == sum(u.total_tokens or 0 for u in usage)
    assert report.by_kind["llm"] == report.total_tokens
    assert report.by_kind["tool"] > 0
    assert report.exact
    assert report.top[0].kind == "llm" and sum(item.share for item in report.top) == pytest.approx(
        1, abs=1e-3
    )
    assert report.largest_llm_call is not None
    assert report.largest_llm_call.context_window == 128_000
    assert report.health.label is HealthLabel.OK


def test_unknown_model_is_labelled_estimate_with_a_note() -> None:
    report = analyse_tokens(load_trace_file(EXAMPLE))
    assert not report.exact
    assert any("pass --model" in note for note in report.notes)
    assert report.largest_llm_call is not None and report.largest_llm_call.context_window is None


def _tool(run_id: str, order: str, text: str) -> Run:
    return Run(
        id=run_id, trace_id="t", parent_id="root", order=order, name="search",
        kind=RunKind.TOOL, tool_result=text,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("runs", "label", "reason"),
    [
        ([_llm("a", "1", "gpt-4", 9000)], HealthLabel.HARD_TRUNCATION, "≥ the 8,192-token window"),
        (
            [_llm("a", "1", "gpt-4", 100, error="This model's maximum context length is 8192")],
            HealthLabel.HARD_TRUNCATION,
            "rejected the call for context length",
        ),
        (
            [_llm("a", "1", "gpt-4", 7800, finish_reason="length")],
            HealthLabel.HARD_TRUNCATION,
            "stopped for length",
        ),
        ([_llm("a", "1", "gpt-4", 7500)], HealthLabel.SOFT_TRUNCATION, "92% of the"),
        (
            [_tool("t1", "1", PROSE * 200), _llm("a", "2", "gpt-4o", 120)],
            HealthLabel.CONTEXT_STARVATION,
            "prompt of 120 tokens although",
        ),
        ([_llm("a", "1", "gpt-4o", 70_000)], HealthLabel.ATTENTION_DILUTION, "55% of the"),
        (
            [
                _llm(
                    "a",
                    "1",
                    "gpt-4o",
                    None,
                    input_messages=(
                        Message(role="system", content="Be brief."),
                        Message(role="user", content=PROSE * 600),
                    ),
                )  # fmt: skip
            ],
            HealthLabel.ATTENTION_DILUTION,
            "system prompt is 0.1%",
        ),
        ([_llm("a", "1", "gpt-4o", 5000)], HealthLabel.OK, "no call reached"),
        ([_tool("t1", "1", PROSE * 200), _llm("a", "2", "gpt-4o", 3000)], HealthLabel.OK, "no"),
    ],
)
def test_health_labels_follow_the_documented_thresholds(
    runs: list[Run], label: HealthLabel, reason: str
) -> None:
    health = analyse_tokens(_trace(*runs)).health
    assert health.label is label
    assert reason in health.reason
    assert health.meaning
    if label is not HealthLabel.OK:
        assert health.run_id == "a"


def test_most_severe_label_wins() -> None:
    trace = _trace(_llm("a", "1", "gpt-4", 7500), _llm("b", "2", "gpt-4", 9000))
    health = analyse_tokens(trace).health
    assert (health.label, health.run_id) == (HealthLabel.HARD_TRUNCATION, "b")


def test_model_override_applies_its_window_to_every_call() -> None:
    trace = _trace(_llm("a", "1", "gpt-4o", 9000))
    assert analyse_tokens(trace).health.label is HealthLabel.OK
    assert analyse_tokens(trace, "gpt-4").health.label is HealthLabel.HARD_TRUNCATION


def test_containers_count_zero_and_output_cut_is_noted() -> None:
    trace = _trace(_llm("a", "1", "gpt-4o", 50, finish_reason="length"))
    report = analyse_tokens(trace)
    assert report.by_kind["chain"] == 0
    assert any("stopped at their output limit" in note for note in report.notes)
