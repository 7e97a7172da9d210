"""The divergence step: where a failing run first left the expected path, found from the trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from refinery.analysis.analyser import AnalyserInput, AnalyserOutput
from refinery.analysis.detectors import run_detectors
from refinery.analysis.divergence import divergence_of, find_divergence
from refinery.analysis.findings import DetectorInput
from refinery.config import load_settings
from refinery.models import Diagnosis, Divergence, FailureType, Level
from refinery.pipeline import analyze
from refinery.traces import Trace, load_trace_file


def _trace(tmp_path: Path, doc: Any) -> Trace:
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return load_trace_file(path)


def _divergence(trace: Trace, expected: str = "should answer correctly") -> Divergence:
    findings = run_detectors(DetectorInput(trace=trace, expected=expected))
    candidate = find_divergence(trace, findings)
    assert candidate is not None
    return divergence_of(trace, candidate)


def _call(name: str) -> dict[str, Any]:
    return {"id": "c1", "type": "function", "function": {"name": name, "arguments": "{}"}}


def test_a_failed_tool_puts_the_divergence_at_the_turn_that_carried_on(tmp_path: Path) -> None:
    trace = _trace(
        tmp_path,
        [
            {"role": "system", "content": "You answer weather questions."},
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": "", "tool_calls": [_call("get_weather")]},
            {"role": "tool", "tool_call_id": "c1", "content": "HTTP 503 Service Unavailable"},
            {"role": "assistant", "content": "It is sunny in Oslo."},
        ],
    )
    step = _divergence(trace)
    assert (step.run_id, step.position) == ("msg-4", 4)
    assert "get_weather failed" in step.reason and "503" in step.reason


def test_failed_code_is_attributed_to_the_agent_that_wrote_it(tmp_path: Path) -> None:
    history = [
        {"role": "assistant", "name": "Planner", "content": "Task: count the even addresses."},
        {"role": "user", "name": "Analyst", "content": "```python\nprint(df['Adress'])\n```"},
        {
            "role": "user",
            "name": "Computer_terminal",
            "content": "exitcode: 1 (execution failed)\nCode output: KeyError: 'Adress'",
        },
        {"role": "user", "name": "Reviewer", "content": "The answer is 4."},
    ]
    step = _divergence(_trace(tmp_path, {"history": history}))
    assert (step.position, step.name) == (1, "Analyst")
    assert "wrote code that failed" in step.reason


def test_invented_data_is_the_divergence_even_before_any_error(tmp_path: Path) -> None:
    history = [
        {"role": "assistant", "name": "Lead", "content": "Find the 1928 Olympics team sizes."},
        {"role": "user", "name": "Researcher", "content": "I searched the archive."},
        {"role": "user", "name": "Analyst", "content": "Let's simulate the data for the teams."},
        {"role": "user", "name": "Analyst", "content": "The smallest team is CHN."},
    ]
    step = _divergence(_trace(tmp_path, {"history": history}))
    assert (step.position, step.name) == (2, "Analyst")
    assert "invent data" in step.reason


def test_with_no_signal_the_first_action_is_named_and_the_reason_says_so(tmp_path: Path) -> None:
    history = [
        {"role": "assistant", "name": "Lead", "content": "Which river is longest?"},
        {"role": "user", "name": "Orchestrator", "content": "Researcher, please look it up."},
        {"role": "user", "name": "Researcher", "content": "The Amazon is the longest river."},
        {"role": "user", "name": "Lead", "content": "Final answer: Amazon."},
    ]
    step = _divergence(_trace(tmp_path, {"history": history}), "should answer the Nile")
    assert step.name == "Researcher"
    assert "needs an LLM" in step.reason


class _Told:
    """An analyser (the Analyser protocol) that states its own divergence step."""

    name, model = "told", None

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def analyse(self, data: AnalyserInput) -> AnalyserOutput:
        step = Divergence(run_id=self.run_id, name="x", position=0, reason="said so")
        diagnosis = Diagnosis(
            failure_type=FailureType.TOOL_ERROR, root_cause="r", confidence=Level.LOW,
            confidence_reason="c", trace_summary="t", gap="g", executive_summary="e",
            affected_component="a", divergence=step,
        )  # fmt: skip
        return AnalyserOutput(diagnosis=diagnosis, hypotheses=())


def test_an_analysers_own_divergence_is_kept_only_when_its_run_exists(
    tmp_path: Path, git_repo: Path
) -> None:
    doc = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "", "tool_calls": [_call("get_weather")]},
        {"role": "tool", "tool_call_id": "c1", "content": "HTTP 503 Service Unavailable"},
        {"role": "assistant", "content": "It is sunny in Oslo."},
    ]
    trace = _trace(tmp_path, doc)
    settings = load_settings(repo_root=git_repo)
    kept = analyze(trace, project="p", expected="say it failed", settings=settings,
                   analyser=_Told("msg-1"))  # fmt: skip
    assert kept.diagnosis.divergence is not None
    assert kept.diagnosis.divergence.reason == "said so"
    invented = analyze(trace, project="p", expected="say it failed", settings=settings,
                       analyser=_Told("run-that-does-not-exist"))  # fmt: skip
    assert invented.diagnosis.divergence is not None
    assert invented.diagnosis.divergence.run_id == "msg-3"
