from __future__ import annotations

import pytest

from refinery.analysis.detectors import errors, run_detectors
from refinery.analysis.detectors.excerpts import quotes
from refinery.analysis.findings import DetectorInput, Finding, Severity
from refinery.traces.model import Run, RunKind, Trace, build_trace
from refinery.traces.sources import load_trace
from sample_paths import FIXTURES as SAMPLE_FIXTURES

FIXTURES = SAMPLE_FIXTURES
WEATHER = FIXTURES / "generated" / "langchain_fake_weather_agent.runs_query.json"


def _trace(*runs: Run) -> Trace:
    return build_trace(runs, trace_id="t", source="file", format="test")


def _run(run_id: str, **fields: object) -> Run:
    return Run(id=run_id, trace_id="t", parent_id=fields.pop("parent_id", "root"), **fields)  # type: ignore[arg-type]


def _root(**fields: object) -> Run:
    return Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN, **fields)  # type: ignore[arg-type]


def _found(trace: Trace) -> list[Finding]:
    found = list(errors.run_errors(DetectorInput(trace=trace)))
    for item in found:
        assert not item.evidence or quotes(trace.get(item.run_id), item.evidence), item  # type: ignore[arg-type]
    return found


def test_failed_tool_run_is_a_tool_error_quoting_the_first_error_line() -> None:
    trace = load_trace(WEATHER)
    [found] = _found(trace)
    assert (found.kind, found.severity) == ("tool_error", Severity.HIGH)
    assert trace.get(found.run_id).name == "get_weather"  # type: ignore[union-attr]
    assert found.evidence.startswith("ValueError('weather API down for Paris')")


@pytest.mark.parametrize(
    "error",
    [
        "openai.RateLimitError: Error code: 429 - {'error': {'message': 'Rate limit reached'}}",
        "anthropic.InternalServerError: Error code: 529 - overloaded_error",
        "httpx.ReadTimeout: The read operation timed out",
        "Service Unavailable: status code 503 from upstream",
        "requests.exceptions.ConnectionError: Connection refused",
    ],
)
def test_provider_side_failures_are_infrastructure_errors(error: str) -> None:
    trace = _trace(_root(), _run("llm", kind=RunKind.LLM, name="ChatOpenAI", error=error))
    [found] = _found(trace)
    assert (found.kind, found.run_id, found.severity) == ("infrastructure_error", "llm", "high")
    assert found.evidence in error


def test_bare_traceback_is_quoted_by_its_exception_line() -> None:
    error = "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'city'"
    trace = _trace(_root(), _run("tool", kind=RunKind.TOOL, name="lookup", error=error))
    [found] = _found(trace)
    assert found.kind == "tool_error"
    assert found.evidence == "KeyError: 'city'"


def test_parser_and_context_failures_are_run_errors_named_by_their_signature() -> None:
    trace = _trace(
        _root(),
        _run(
            "p",
            kind=RunKind.PARSER,
            name="JsonOutputParser",
            error="OutputParserException: Invalid json output: {oops",
        ),
        _run(
            "c", kind=RunKind.LLM, name="llm", error="This model's maximum context length is 8192"
        ),
    )
    found = {f.run_id: f for f in _found(trace)}
    assert {f.kind for f in found.values()} == {"run_error"}
    assert "parse failure" in found["p"].message
    assert "context window exceeded" in found["c"].message


def test_parent_reraising_its_childs_error_is_reported_low() -> None:
    error = "ValueError: no such city"
    trace = _trace(
        _root(error=error, status="error"),
        _run("tool", kind=RunKind.TOOL, name="lookup", error=error),
    )
    by_run = {f.run_id: f for f in _found(trace)}
    assert by_run["tool"].severity == Severity.HIGH
    assert (by_run["root"].kind, by_run["root"].severity) == ("error_propagated", Severity.LOW)
    assert run_detectors(DetectorInput(trace=trace))[0].run_id == "tool"


def test_successful_runs_make_no_error_findings() -> None:
    trace = _trace(
        _root(outputs={"output": "All good"}),
        _run("tool", kind=RunKind.TOOL, name="lookup", tool_result="error handling docs"),
    )
    assert _found(trace) == []


def test_run_detectors_is_sorted_by_severity_then_order_and_deduplicated() -> None:
    trace = load_trace(WEATHER)
    found = run_detectors(DetectorInput(trace=trace, expected="say it cannot get the weather"))
    ranks = [["high", "medium", "low", "info"].index(f.severity) for f in found]
    assert ranks == sorted(ranks)
    keys = [(f.kind, f.run_id, f.evidence) for f in found]
    assert len(keys) == len(set(keys))
