from __future__ import annotations

from typing import Any

from refinery.analysis.detectors import context
from refinery.analysis.findings import DetectorInput
from refinery.traces.model import Run, RunKind, Trace, build_trace


def _trace(*runs: Run, output: str = "") -> Trace:
    root = Run(
        id="root", trace_id="t", name="planner", kind=RunKind.CHAIN,
        outputs={"output": output} if output else None,
    )  # fmt: skip
    return build_trace((root, *runs), trace_id="t", source="file", format="test")


def _step(run_id: str, name: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> Run:
    return Run(
        id=run_id, trace_id="t", parent_id="root", name=name, kind=RunKind.CHAIN,
        inputs=inputs, outputs=outputs,
    )  # fmt: skip


def test_a_step_that_dropped_messages_is_flagged() -> None:
    trace = _trace(_step("s1", "window_memory", {"turns": 14}, {"removed_turns": 5}))
    found = list(context.context_trimming(DetectorInput(trace=trace)))
    assert [f.kind for f in found] == ["context_trimmed"]
    assert "removed_turns: 5" in found[0].message


def test_a_count_over_its_maximum_is_flagged_and_within_it_is_not() -> None:
    over = _trace(_step("s1", "squash", {"documents": 9, "max_documents": 4}, {"ok": True}))
    within = _trace(_step("s1", "squash", {"documents": 3, "max_documents": 4}, {"ok": True}))
    assert len(list(context.context_trimming(DetectorInput(trace=over)))) == 1
    assert list(context.context_trimming(DetectorInput(trace=within))) == []


def test_context_builder_given_nothing_that_an_earlier_step_produced() -> None:
    load = _step("s1", "load_itinerary", {"trip": "T-1"}, {"output": {"legs": 3}})
    build = _step("s2", "assemble_prompt", {"itinerary": None, "style": "brief"}, {"chars": 80})
    found = list(context.context_missing_inputs(DetectorInput(trace=_trace(load, build))))
    assert [f.kind for f in found] == ["context_missing_input"]
    assert found[0].run_id == "s2" and "load_itinerary" in found[0].message


def test_empty_input_with_no_producer_is_not_flagged() -> None:
    build = _step("s2", "assemble_prompt", {"itinerary": None}, {"chars": 80})
    assert list(context.context_missing_inputs(DetectorInput(trace=_trace(build)))) == []


def test_iteration_limit_names_the_knob() -> None:
    stop = _step("s9", "halt", {"iterations": 6, "max_iterations": 6}, {"output": "halted"})
    found = list(context.step_limits(DetectorInput(trace=_trace(stop))))
    assert [f.run_id for f in found] == ["s9"]
    assert "max_iterations" in found[0].message


def test_recursion_limit_message_is_quoted() -> None:
    text = "Recursion limit of 25 reached without hitting a stop condition."
    found = list(context.step_limits(DetectorInput(trace=_trace(output=text))))
    assert found and found[0].evidence in text and "recursion" in found[0].evidence.lower()
