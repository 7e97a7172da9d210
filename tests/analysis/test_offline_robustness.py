"""The offline analyser on trace shapes found in unseen traces (bench/sweep.py's findings).

Each test builds a small trace by hand and runs the real detectors and the offline analyser on it.
"""

from __future__ import annotations

from typing import Any

from refinery.analysis.analyser import AnalyserInput, ContextFile, FileRole
from refinery.analysis.detectors import run_detectors
from refinery.analysis.findings import DetectorInput, Finding, Severity
from refinery.analysis.offline import OfflineAnalyser
from refinery.models.diagnosis import Diagnosis, FailureType
from refinery.traces.model import Message, Run, RunKind, Trace, build_trace

EXPECTED = "The agent should complete the task correctly"
# A traceback whose source lines mention "line 512" and a timeout keyword argument, but whose
# exception is an ordinary TypeError raised by the agent's own code.
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/venv/lib/python3.11/site-packages/agents/executor.py", line 512, in run\n'
    "    result = requests.get(url, timeout=30)\n"
    '  File "/venv/lib/python3.11/site-packages/agents/tools.py", line 587, in forward\n'
    "    return self.page_down(**kwargs)\n"
    "TypeError: PageDownTool.forward() got an unexpected keyword argument 'step'"
)


def _root(**kw: Any) -> Run:
    return Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN, **kw)


def _llm(rid: str, answer: str, **kw: Any) -> Run:
    return Run(
        id=rid,
        trace_id="t",
        parent_id=kw.pop("parent_id", "root"),
        kind=RunKind.LLM,
        name=kw.pop("name", "chat"),
        input_messages=(
            Message(role="system", content="You are a research agent."),
            Message(role="user", content="Find the surname of the vet."),
        ),
        output_messages=(Message(role="assistant", content=answer),),
        **kw,
    )


def _trace(*runs: Run) -> Trace:
    return build_trace(runs, trace_id="t", source="file", format="test")


def _diagnose(trace: Trace, files: tuple[ContextFile, ...] = ()) -> Diagnosis:
    prompts = tuple((f.path, f.content) for f in files if f.role is FileRole.PROMPT)
    findings = run_detectors(DetectorInput(trace=trace, expected=EXPECTED, prompt_texts=prompts))
    data = AnalyserInput(
        trace=trace, expected=EXPECTED, findings=tuple(findings), condensed="", files=files
    )
    return OfflineAnalyser().analyse(data).diagnosis


def _failed_steps(count: int) -> list[Run]:
    """``count`` nested steps that all carry the same propagated traceback."""
    steps = []
    for i in range(count):
        parent = "root" if i == 0 else f"step{i - 1}"
        steps.append(
            Run(
                id=f"step{i}",
                trace_id="t",
                parent_id=parent,
                name=f"Step {i + 1}",
                kind=RunKind.CHAIN,
                error=TRACEBACK,
            )
        )
    return steps


def test_traceback_line_numbers_are_not_a_provider_5xx() -> None:
    trace = _trace(_root(), *_failed_steps(1), _llm("llm1", "The surname is Louvrier."))

    diagnosis = _diagnose(trace)

    assert diagnosis.failure_type is not FailureType.INFRASTRUCTURE


def test_failed_intermediate_step_is_a_tool_error_not_a_lexical_guess() -> None:
    trace = _trace(_root(), *_failed_steps(1), _llm("llm1", "The surname is Louvrier."))

    diagnosis = _diagnose(trace)

    assert diagnosis.failure_type is FailureType.TOOL_ERROR
    assert "step0" in {e.run_id for e in diagnosis.evidence}
    assert "The tool used in that step failed" in diagnosis.root_cause


def test_real_provider_error_on_a_model_call_is_still_infrastructure() -> None:
    failed = Run(
        id="llm0",
        trace_id="t",
        parent_id="root",
        kind=RunKind.LLM,
        name="chat",
        model="gpt-4o",
        error="openai.InternalServerError: Error code: 503 - service unavailable",
    )
    trace = _trace(_root(error="Error code: 503"), failed)

    assert _diagnose(trace).failure_type is FailureType.INFRASTRUCTURE


def _analyse_findings(trace: Trace, findings: list[Finding]) -> Diagnosis:
    data = AnalyserInput(trace=trace, expected=EXPECTED, findings=tuple(findings), condensed="")
    return OfflineAnalyser().analyse(data).diagnosis


def test_an_error_reported_on_every_parent_step_is_quoted_once() -> None:
    steps = _failed_steps(4)
    trace = _trace(_root(), *steps, _llm("llm1", "The surname is Louvrier."))
    line = TRACEBACK.splitlines()[-1]
    findings = [
        Finding(
            kind="run_error", severity=Severity.HIGH, run_id=s.id, message="failed", evidence=line
        )
        for s in steps
    ]

    quotes = [e.quote.strip() for e in _analyse_findings(trace, findings).evidence]

    assert quotes.count(line) == 1
    assert not any(a != b and a in b for a in quotes for b in quotes)


def test_nearest_prompt_passage_of_an_absent_rule_is_not_evidence() -> None:
    system = Message(role="system", content="Task:\nBe brief.")
    llm = _llm("llm1", "I am not sure.").model_copy(update={"input_messages": (system,)})
    absent = Finding(
        kind="expectation_not_in_prompt",
        severity=Severity.MEDIUM,
        run_id="llm1",
        message="no prompt rule addresses the expected behaviour",
        evidence="Task:",
    )

    diagnosis = _analyse_findings(_trace(_root(), llm), [absent])

    assert [e.quote for e in diagnosis.evidence] == ["I am not sure."]


def test_transcript_without_model_names_the_assistant() -> None:
    trace = _trace(_root(), _llm("msg-1", "Three bags.", name="assistant"))

    summary = _diagnose(trace).trace_summary

    assert 'The assistant answered "Three bags."' in summary
    assert "The model assistant" not in summary


def test_agents_speaking_under_their_own_names_give_the_final_answer() -> None:
    user = Run(
        id="msg-0",
        trace_id="t",
        parent_id="root",
        name="user",
        output_messages=(Message(role="user", content="When did the stock pass $50?"),),
    )
    agents = [
        Run(
            id=f"msg-{i}",
            trace_id="t",
            parent_id="root",
            name=name,
            output_messages=(Message(role=name, content=text),),
        )
        for i, (name, text) in enumerate(
            (("Orchestrator (thought)", "Ask the WebSurfer."), ("WebSurfer", "It was 2007.")),
            start=1,
        )
    ]
    trace = _trace(_root(), user, *agents)

    diagnosis = _diagnose(trace)

    assert 'the final answer was "It was 2007."' in diagnosis.gap
    assert any(e.run_id == "msg-2" and e.verified for e in diagnosis.evidence)


def test_component_without_context_files_reads_plainly() -> None:
    trace = _trace(_root(), _llm("llm1", "I am not sure."))

    component = _diagnose(trace).affected_component

    assert "(the system prompt)" not in component
    assert "no prompt file given" in component


def test_gap_does_not_double_the_expectations_full_stop() -> None:
    trace = _trace(_root(), _llm("llm1", "TERMINATE"))
    data = AnalyserInput(
        trace=trace, expected="It should say: let it die.", findings=(), condensed=""
    )

    gap = OfflineAnalyser().analyse(data).diagnosis.gap

    assert gap.startswith("Expected: It should say: let it die. Actual:")
