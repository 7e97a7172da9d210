"""The offline analyser says what is known and only that; its fixes read as a person's."""

from __future__ import annotations

from typing import Any

from refinery.analysis.analyser import AnalyserInput, ContextFile, FileRole
from refinery.analysis.detectors import run_detectors
from refinery.analysis.findings import DetectorInput
from refinery.analysis.offline import OfflineAnalyser
from refinery.models.diagnosis import FailureType, Level
from refinery.traces.model import Message, Run, RunKind, ToolCall, build_trace

RULE = "- Always confirm the refund amount with the customer before issuing it."
EVALS = '[{"input": "x", "expected": "y"}]'
PROMPT = f"You are the billing assistant of Acme.\n{RULE}\n- Keep answers short.\n"


def _analyse(
    system: str, user: str, answer: str, expected: str, file: str = PROMPT, tool_error: str = ""
) -> Any:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN, inputs={"input": user})
    messages = (Message(role="system", content=system), Message(role="user", content=user))
    runs = [root]
    if tool_error:
        call = ToolCall(id="c1", name="lookup_order", arguments='{"order": "A-1182"}')
        runs.append(Run(
            id="l0", trace_id="t", parent_id="root", kind=RunKind.LLM, name="chat",
            input_messages=messages,
            output_messages=(Message(role="assistant", content="", tool_calls=(call,)),),
        ))  # fmt: skip
        runs.append(Run(
            id="t1", trace_id="t", parent_id="root", kind=RunKind.TOOL, name="lookup_order",
            tool_name="lookup_order", status="error", error=tool_error,
        ))  # fmt: skip
    runs.append(Run(
        id="l1", trace_id="t", parent_id="root", kind=RunKind.LLM, name="chat",
        input_messages=messages, output_messages=(Message(role="assistant", content=answer),),
    ))  # fmt: skip
    trace = build_trace(runs, trace_id="t", source="file", format="langsmith-runs")
    files = (
        ContextFile(path="prompt.txt", role=FileRole.PROMPT, content=file),
        ContextFile(path="evals.json", role=FileRole.EVAL, content=EVALS),
    )
    detected = DetectorInput(trace=trace, expected=expected, prompt_texts=(("prompt.txt", file),))
    findings = tuple(run_detectors(detected))
    data = AnalyserInput(
        trace=trace, expected=expected, findings=findings, condensed="", files=files
    )
    return OfflineAnalyser().analyse(data)


def test_a_rule_in_the_prompt_is_never_missing_and_word_overlap_is_low_confidence() -> None:
    expected = "should confirm the refund amount before issuing it"
    out = _analyse(PROMPT, "Refund my order", "Done, I refunded USD 42.50.", expected)
    diagnosis = out.diagnosis
    assert diagnosis.failure_type is FailureType.INSTRUCTION_NOT_FOLLOWED
    assert diagnosis.confidence is Level.LOW
    assert "reading the conversation itself needs an LLM" in diagnosis.confidence_reason
    assert "--provider" in diagnosis.confidence_reason
    restated = next(h for h in out.hypotheses if h.strategy == "reposition_rule")
    assert restated.edits[0].file == "prompt.txt"
    assert restated.edits[0].replace.endswith(
        "\n- IMPORTANT, repeated on purpose: Always confirm the refund amount with the customer "
        "before issuing it."
    )


def test_no_restatement_when_the_edited_file_lacks_the_rule() -> None:
    expected = "should confirm the refund amount before issuing it"
    other = "You are the billing assistant of Acme.\n- Keep answers short.\n"
    out = _analyse(PROMPT, "Refund my order", "Done, I refunded USD 42.50.", expected, other)
    assert out.diagnosis.failure_type is FailureType.INSTRUCTION_NOT_FOLLOWED
    assert "reposition_rule" not in {h.strategy for h in out.hypotheses}


def test_a_missing_rule_is_explained_not_restated() -> None:
    expected = "should answer in French when the customer writes in French"
    out = _analyse(PROMPT, "Bonjour, ma facture?", "Here is your invoice.", expected)
    diagnosis = out.diagnosis
    assert diagnosis.failure_type is FailureType.INSTRUCTION_GAP
    assert "answer in French" not in diagnosis.root_cause
    assert "none of the 3 sentences of its instructions addresses this situation" in (
        diagnosis.root_cause
    )


def test_fixes_target_the_mechanism_and_show_a_real_example() -> None:
    expected = "should say the order system is unavailable instead of guessing"
    out = _analyse(
        "You are the billing assistant of Acme.", "Where is order A-1182? Mail me at jo@acme.io",
        "Your order A-1182 ships tomorrow.", expected, tool_error="TimeoutError: API timed out",
    )  # fmt: skip
    strategies = [h.strategy for h in out.hypotheses]
    assert len(strategies) == len(set(strategies))
    assert strategies[0] == "failure_handling_rule"
    example = next(h for h in out.hypotheses if h.strategy == "add_example").edits[0].replace
    assert 'User: "Where is order A-1182? Mail me at <email>"' in example
    assert "(the lookup_order call fails)" in example
    prompt_edits = [e.replace for h in out.hypotheses for e in h.edits if e.file == "prompt.txt"]
    assert prompt_edits and "jo@acme.io" not in "".join(prompt_edits)
