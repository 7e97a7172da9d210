"""The verdict on small traces of each failure class (own domains, generic structure)."""

from __future__ import annotations

from typing import Any

from refinery.analysis.detectors import run_detectors
from refinery.analysis.findings import DetectorInput
from refinery.analysis.offline.case import Case, Verdict
from refinery.analysis.offline.facts import read_facts
from refinery.analysis.offline.verdict import decide
from refinery.models.diagnosis import FailureType
from refinery.traces.model import Message, Run, RunKind, Trace, build_trace


def _trace(*runs: Run) -> Trace:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN)
    return build_trace((root, *runs), trace_id="t", source="file", format="test")


def _llm(run_id: str, answer: str, system: str = "You help gardeners.", user: str = "Hi") -> Run:
    return Run(
        id=run_id, trace_id="t", parent_id="root", name="chat", kind=RunKind.LLM,
        input_messages=(Message(role="system", content=system), Message(role="user", content=user)),
        output_messages=(Message(role="assistant", content=answer),),
    )  # fmt: skip


def _step(run_id: str, name: str, inputs: dict[str, Any], outputs: Any, **kw: Any) -> Run:
    return Run(
        id=run_id, trace_id="t", parent_id="root", name=name, kind=RunKind.CHAIN,
        inputs=inputs, outputs=outputs, **kw,
    )  # fmt: skip


def _verdict(trace: Trace, expected: str) -> Verdict:
    findings = tuple(run_detectors(DetectorInput(trace=trace, expected=expected)))
    facts = read_facts(trace)
    case = Case(
        trace=trace, findings=findings, facts=facts, expected=expected,
        prompt_texts=facts.system_prompts,
    )  # fmt: skip
    return decide(case)


def test_empty_retriever_is_a_retrieval_issue() -> None:
    found = Run(
        id="r1", trace_id="t", parent_id="root", name="catalog_lookup", kind=RunKind.RETRIEVER,
        inputs={"query": "first edition Dune"}, outputs={"documents": []},
    )  # fmt: skip
    trace = _trace(found, _llm("l1", "We do not seem to stock that book."))
    verdict = _verdict(trace, "should list the two first editions of Dune in the rare-books room")
    assert verdict.failure_type is FailureType.RETRIEVAL_ISSUE
    assert verdict.findings[0].run_id == "r1"


def test_iteration_limit_is_a_premature_stop_with_its_knob() -> None:
    stop = _step("s1", "stopper", {"steps": 8, "max_steps": 8}, {"output": "stopped"})
    trace = _trace(_llm("l1", "", user="Tag all 40 photos"), stop)
    verdict = _verdict(trace, "every photo should be tagged")
    assert verdict.failure_type is FailureType.ORCHESTRATION_ISSUE
    assert "max_steps" in verdict.knobs


def test_schema_validation_without_tools_is_output_format() -> None:
    parse = _step(
        "p1", "structured_reader", {"text": "{}"}, None, status="error",
        error="1 validation error for Ticket\nseverity\n  Input should be 'low' or 'high'",
    )  # fmt: skip
    trace = _trace(_llm("l1", '{"severity": "urgent"}'), parse)
    verdict = _verdict(trace, "severity should be one of low or high")
    assert verdict.failure_type is FailureType.OUTPUT_FORMAT


def test_wrong_sum_is_a_model_limitation_not_a_lexical_pass() -> None:
    user = "Add up my receipts: 12.40, 7.35 and 20.10. What is the total?"
    trace = _trace(_llm("l1", "The total of 12.40, 7.35 and 20.10 is 38.95.", user=user))
    verdict = _verdict(trace, "The total is 39.85.")
    assert verdict.failure_type is FailureType.MODEL_LIMITATION
    assert verdict.findings[0].kind == "wrong_figure"


def test_the_right_figure_is_met() -> None:
    user = "Add up my receipts: 12.40, 7.35 and 20.10. What is the total?"
    trace = _trace(_llm("l1", "Your receipts add up to $39.85 in total.", user=user))
    findings = run_detectors(DetectorInput(trace=trace, expected="The total is 39.85."))
    assert "wrong_figure" not in {f.kind for f in findings}


def test_rule_in_a_numbered_list_is_not_a_gap() -> None:
    system = (
        "You are a lab assistant.\n1. Label every sample tube with the patient code.\n"
        "2. ALWAYS log the freezer temperature in the logbook before you close the shift."
    )
    trace = _trace(_llm("l1", "Shift closed, all tubes stored.", system=system))
    verdict = _verdict(
        trace, "After storing the tubes the assistant should have logged the freezer "
        "temperature in the logbook before closing the shift.",
    )  # fmt: skip
    assert verdict.failure_type is FailureType.INSTRUCTION_NOT_FOLLOWED
    assert verdict.existing_rule is not None


def test_trimmed_history_is_a_context_issue() -> None:
    trim = _step("s1", "shrink_history", {"turns": 12}, {"dropped": 4})
    trace = _trace(trim, _llm("l1", "Booked a table for two."))
    verdict = _verdict(trace, "the booking should include the high chair asked for earlier")
    assert verdict.failure_type is FailureType.CONTEXT_ISSUE
    assert verdict.findings[0].run_id == "s1"
