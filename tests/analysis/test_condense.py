"""Condensation: budget respected, evidence kept verbatim, every omission marked."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refinery.analysis.condense import CondensedTrace, condense
from refinery.analysis.findings import Finding, Severity
from refinery.analysis.tokens import count_tokens
from refinery.errors import InputError
from refinery.traces import Message, Run, RunKind, ToolCall, Trace, build_trace, load_trace_file
from sample_paths import FIXTURES as SAMPLE_FIXTURES

WEATHER = SAMPLE_FIXTURES / "generated/langchain_fake_weather_agent.runs_query.json"
RUN_MARKER = re.compile(r"\[… ([\d,]+) runs? elided: ([^\]]*) …\]")
WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "error",
    "timeout",
    "weather",
    "Paris",
    "tool",
    "result",
    "plan",
    "step",
]


def _finding(run_id: str, evidence: str, kind: str = "tool_error") -> Finding:
    return Finding(kind=kind, severity=Severity.HIGH, run_id=run_id, message="m", evidence=evidence)


def _trace(runs: list[Run]) -> Trace:
    return build_trace(runs, trace_id="t", source="file", format="test")


def _texts(run: Run) -> list[str]:
    """The salient texts a rendering must show whole or mark as shortened.

    Raw inputs/outputs stand in only where the run has no normalised messages or tool fields.
    """
    texts = [run.error or "", run.tool_args or "", run.tool_result or ""]
    texts += [m.content for m in (*run.input_messages, *run.output_messages)]
    if not run.input_messages and run.tool_args is None:
        texts += [v for v in run.inputs.values() if isinstance(v, str)]
    if not run.output_messages and run.tool_result is None:
        texts += [v for v in (run.outputs or {}).values() if isinstance(v, str)]
    return [text for text in texts if text]


def _check_invariants(trace: Trace, findings: list[Finding], result: CondensedTrace) -> None:
    assert result.tokens == count_tokens(result.text, None)
    assert result.tokens <= result.budget or (result.over_budget and result.note)
    for found in findings:
        assert found.evidence in result.text
    kept = set(result.kept_run_ids)
    dropped = [rid for e in result.elisions for rid in e.run_ids]
    assert len(dropped) == len(set(dropped))
    assert kept.isdisjoint(dropped)
    assert kept | set(dropped) == {run.id for run in trace.runs}
    counted = sum(int(m.group(1).replace(",", "")) for m in RUN_MARKER.finditer(result.text))
    assert counted == len(dropped)
    for elision in result.elisions:
        assert elision.marker in result.text
    _check_no_silent_cut(trace, result)


def _check_no_silent_cut(trace: Trace, result: CondensedTrace) -> None:
    cut_runs = {e.run_id for e in result.elisions if e.run_id}
    verbatim = set(result.verbatim_run_ids)
    assert verbatim <= set(result.kept_run_ids)
    for run_id in result.kept_run_ids:
        run = trace.get(run_id)
        assert run is not None
        missing = [text for text in _texts(run) if text not in result.text]
        if run_id in verbatim:
            assert not missing, f"verbatim run {run_id} lacks {missing[:1]}"
        elif missing and run_id not in cut_runs:
            # shown by reference to an earlier run: that run's copy carries the marker
            for text in missing:
                owners = [other for other in cut_runs if text in _texts(_run_of(trace, other))]
                assert owners, f"run {run_id} cut without marker"


def _run_of(trace: Trace, run_id: str) -> Run:
    run = trace.get(run_id)
    assert run is not None
    return run


def _block(text: str, run_id: str) -> str:
    """The lines of a run's block: its header and the labelled texts under it."""
    start = text.index(f"[run {run_id}]")
    end = text.find("▸", start)
    return text[start : end if end >= 0 else len(text)]


# --- generated traces ----------------------------------------------------------------------


@st.composite
def _text(draw: st.DrawFn, max_words: int = 400) -> str:
    count = draw(st.integers(0, max_words))
    seed = draw(st.integers(0, 10_000))
    return " ".join(f"{WORDS[(seed + i * 7) % len(WORDS)]}{(seed * i) % 97}" for i in range(count))


@st.composite
def _run(draw: st.DrawFn, index: int, parent: str | None) -> Run:
    kind = draw(st.sampled_from([RunKind.LLM, RunKind.TOOL, RunKind.CHAIN, RunKind.RETRIEVER]))
    base = {"id": f"run-{index}", "trace_id": "t", "parent_id": parent, "name": f"n{index}"}
    error = draw(st.one_of(st.none(), _text(60)))
    if kind is RunKind.LLM:
        system = draw(st.sampled_from(["You are a careful agent. " * 20, "Be brief.", ""]))
        messages = [Message(role="system", content=system)] if system else []
        messages.append(Message(role="user", content=draw(_text())))
        calls = (ToolCall(name="search", arguments=draw(_text(20))),) if draw(st.booleans()) else ()
        out = Message(role="assistant", content=draw(_text()), tool_calls=calls)
        return Run(
            **base,
            kind=kind,
            model="gpt-4o",
            error=error,
            input_messages=tuple(messages),
            output_messages=(out,),
        )
    if kind is RunKind.TOOL:
        return Run(
            **base,
            kind=kind,
            error=error,
            tool_name="search",
            tool_args=draw(_text(30)),
            tool_result=draw(_text(800)),
        )
    return Run(
        **base,
        kind=kind,
        error=error,
        inputs={"input": draw(_text())},
        outputs={"output": draw(_text()), "n": draw(st.integers())},
    )


@st.composite
def _traces(draw: st.DrawFn) -> tuple[Trace, list[Finding]]:
    count = draw(st.integers(1, 30))
    runs: list[Run] = []
    for index in range(count):
        parent = None if index == 0 else f"run-{draw(st.integers(0, index - 1))}"
        runs.append(draw(_run(index, parent)))
    trace = _trace(runs)
    findings: list[Finding] = []
    for _ in range(draw(st.integers(0, 4))):
        run = draw(st.sampled_from(runs))
        texts = _texts(run)
        if not texts:
            continue
        text = draw(st.sampled_from(texts))
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, min(len(text), start + 300)))
        findings.append(_finding(run.id, text[start:end]))
    return trace, findings


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_traces(), budget=st.integers(100, 6000))
def test_condense_invariants_hold_on_generated_traces(
    case: tuple[Trace, list[Finding]], budget: int
) -> None:
    trace, findings = case
    result = condense(trace, findings, budget)
    _check_invariants(trace, findings, result)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_traces())
def test_condense_keeps_whole_trace_verbatim_when_it_fits(
    case: tuple[Trace, list[Finding]],
) -> None:
    trace, findings = case
    result = condense(trace, findings, 1_000_000)
    assert not result.elisions and not result.over_budget
    assert set(result.verbatim_run_ids) == {run.id for run in trace.runs}


# --- the real sample -----------------------------------------------------------------------


def test_condense_weather_sample_keeps_every_run_and_the_tool_error() -> None:
    trace = load_trace_file(WEATHER)
    tool = next(run for run in trace.runs if run.kind is RunKind.TOOL)
    findings = [_finding(tool.id, "ValueError: weather API down for Paris")]
    result = condense(trace, findings)
    _check_invariants(trace, findings, result)
    assert result.verbatim_run_ids == tuple(run.id for run in trace.runs)
    assert "\n    error:\nValueError" in _block(result.text, tool.id)
    assert "findings=tool_error" in result.text
    assert "It is sunny in Paris." in result.text
    assert result.text.count("You are a weather bot.") == 1
    assert "[system prompt as in run" in result.text


def test_condense_weather_sample_over_tiny_budget_flags_and_keeps_evidence() -> None:
    trace = load_trace_file(WEATHER)
    tool = next(run for run in trace.runs if run.kind is RunKind.TOOL)
    findings = [_finding(tool.id, "ValueError: weather API down for Paris")]
    result = condense(trace, findings, budget=100)
    assert result.over_budget and "budget is 100" in result.note
    _check_invariants(trace, findings, result)


# --- unit behaviour ------------------------------------------------------------------------


def _chain_of_tools(count: int, result_chars: int = 200) -> list[Run]:
    runs = [Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN, inputs={"q": "go"})]
    for i in range(count):
        kind = RunKind.TOOL if i % 3 else RunKind.LLM
        runs.append(
            Run(
                id=f"r{i}",
                trace_id="t",
                parent_id="root",
                name=f"step{i}",
                kind=kind,
                tool_args="{}",
                tool_result=f"result {i} " + "x" * result_chars,
            )
        )
    return runs


def test_condense_marks_dropped_runs_by_kind() -> None:
    trace = _trace(_chain_of_tools(300))
    result = condense(trace, [_finding("r150", "result 150")], budget=1500)
    markers = RUN_MARKER.findall(result.text)
    assert markers and all("tool×" in kinds or "llm×" in kinds for _, kinds in markers)
    assert "r150" in result.kept_run_ids and "r299" in result.kept_run_ids
    _check_invariants(trace, [_finding("r150", "result 150")], result)


def test_condense_prefers_runs_next_to_a_finding() -> None:
    trace = _trace(_chain_of_tools(300))
    result = condense(trace, [_finding("r150", "result 150")], budget=1500)
    assert {"r149", "r151"} <= set(result.kept_run_ids)
    assert "r40" not in result.kept_run_ids


def test_condense_cuts_long_field_around_evidence_with_char_marker() -> None:
    filler = "lorem ipsum " * 2000
    result_text = (
        "HEAD " + filler + "the API returned HTTP 503 Service Unavailable" + filler + " TAIL"
    )
    runs = [
        Run(id="root", trace_id="t", kind=RunKind.CHAIN, inputs={"q": "go"}),
        Run(
            id="tool",
            trace_id="t",
            parent_id="root",
            kind=RunKind.TOOL,
            tool_args="{}",
            tool_result=result_text,
        ),
    ]
    findings = [_finding("tool", "HTTP 503 Service Unavailable")]
    result = condense(_trace(runs), findings, budget=800)
    assert "HEAD" in result.text and "TAIL" in result.text
    assert re.search(r"\[… [\d,]{5,} chars elided …\]", result.text)
    assert "tool" not in result.verbatim_run_ids
    assert {e.run_id for e in result.elisions if e.chars} == {"tool"}
    _check_invariants(_trace(runs), findings, result)


def test_condense_refers_to_repeated_system_prompt() -> None:
    prompt = "You are the billing agent. Always confirm the account number first. " * 5
    runs = [Run(id="root", trace_id="t", kind=RunKind.CHAIN)]
    runs += [
        Run(
            id=f"llm{i}",
            trace_id="t",
            parent_id="root",
            kind=RunKind.LLM,
            input_messages=(
                Message(role="system", content=prompt),
                Message(role="user", content=f"q{i}"),
            ),
            output_messages=(Message(role="assistant", content=f"a{i}"),),
        )
        for i in range(3)
    ]
    result = condense(_trace(runs), [], budget=5000)
    assert result.text.count(prompt) == 1
    assert result.text.count("[system prompt as in run llm0]") == 2
    assert set(result.verbatim_run_ids) == {"root", "llm0", "llm1", "llm2"}


def test_condense_keeps_final_llm_output_and_root_far_from_findings() -> None:
    runs = _chain_of_tools(400)
    runs.append(
        Run(
            id="final",
            trace_id="t",
            parent_id="root",
            kind=RunKind.LLM,
            output_messages=(Message(role="assistant", content="FINAL ANSWER 42"),),
        )
    )
    result = condense(_trace(runs), [_finding("r5", "result 5")], budget=1200)
    assert "FINAL ANSWER 42" in result.text
    assert result.kept_run_ids[0] == "root"


def test_condense_shows_ancestors_of_a_kept_run_as_headers() -> None:
    runs = [Run(id="d0", trace_id="t", kind=RunKind.CHAIN, inputs={"q": "start"})]
    runs += [
        Run(
            id=f"d{i}",
            trace_id="t",
            parent_id=f"d{i - 1}",
            kind=RunKind.CHAIN,
            inputs={"payload": f"payload {i} " + "p" * 3000},
        )
        for i in range(1, 8)
    ]
    runs.append(
        Run(id="leaf", trace_id="t", parent_id="d7", kind=RunKind.TOOL, error="boom: disk full")
    )
    findings = [_finding("leaf", "boom: disk full")]
    result = condense(_trace(runs), findings, budget=700)
    assert {f"d{i}" for i in range(8)} <= set(result.kept_run_ids)
    assert all(
        re.search(rf"\[run d{i}\] \[… [\d,]+ chars elided …\]", result.text) for i in range(1, 8)
    )
    _check_invariants(_trace(runs), findings, result)


def test_condense_quotes_evidence_found_outside_rendered_fields() -> None:
    runs = [Run(id="root", trace_id="t", kind=RunKind.CHAIN, metadata={"note": "quota exceeded"})]
    findings = [_finding("root", "quota exceeded")]
    result = condense(_trace(runs), findings)
    assert "evidence:\nquota exceeded" in _block(result.text, "root")


def test_condense_attaches_finding_on_unknown_run_to_root() -> None:
    trace = _trace(_chain_of_tools(3))
    result = condense(trace, [_finding("nowhere", "evidence text")])
    assert "evidence text" in result.text


@pytest.mark.parametrize("budget", [0, -5])
def test_condense_rejects_non_positive_budget(budget: int) -> None:
    with pytest.raises(InputError, match="token budget"):
        condense(_trace(_chain_of_tools(2)), [], budget)


def test_condense_rejects_keep_id_not_in_trace() -> None:
    with pytest.raises(InputError, match="run ghost is not in the trace"):
        condense(_trace(_chain_of_tools(2)), [], keep=["ghost"])


def test_condense_keep_forces_a_run_in() -> None:
    trace = _trace(_chain_of_tools(300))
    result = condense(trace, [], budget=1000, keep=["r40"])
    assert "r40" in result.kept_run_ids


def test_condense_keeps_small_finding_runs_whole_when_a_big_one_must_be_cut() -> None:
    runs = [Run(id="root", trace_id="t", kind=RunKind.CHAIN, inputs={"q": "go"})]
    sizes = {"small0": 2000, "small1": 2500, "small2": 3000, "big": 40_000}
    for run_id, size in sizes.items():
        result_text = f"{run_id} BAD RESULT " + " ".join(f"w{i}" for i in range(size // 5))
        runs.append(
            Run(
                id=run_id,
                trace_id="t",
                parent_id="root",
                kind=RunKind.TOOL,
                tool_args="{}",
                tool_result=result_text,
            )
        )
    findings = [_finding(run_id, f"{run_id} BAD RESULT") for run_id in sizes]
    trace = _trace(runs)
    result = condense(trace, findings, budget=4500)
    _check_invariants(trace, findings, result)
    assert {"small0", "small1", "small2"} <= set(result.verbatim_run_ids)
    assert "big" in result.kept_run_ids and "big" not in result.verbatim_run_ids
    assert {e.run_id for e in result.elisions if e.chars} == {"big"}


# --- compact rendering and tier-1 shrinking -------------------------------------------------


def _words(count: int, tag: str) -> str:
    return " ".join(f"{tag}{i}" for i in range(count))


def _history_trace(calls: int) -> list[Run]:
    """LLM calls that each resend the whole history (system prompt, then every earlier turn)."""
    runs = [Run(id="root", trace_id="t", kind=RunKind.CHAIN, inputs={"q": "go"})]
    history = [Message(role="system", content=_words(40, "sys"))]
    for i in range(calls):
        history.append(Message(role="user", content=_words(30, f"turn{i}x")))
        reply = Message(role="assistant", content=_words(30, f"reply{i}x"))
        runs.append(
            Run(
                id=f"llm{i}",
                trace_id="t",
                parent_id="root",
                kind=RunKind.LLM,
                model="gpt-4o",
                input_messages=tuple(history),
                output_messages=(reply,),
            )
        )
        history.append(reply)
    return runs


def test_condense_references_a_resent_history_in_one_line() -> None:
    trace = _trace(_history_trace(4))
    result = condense(trace, [], budget=20_000)
    _check_invariants(trace, [], result)
    block = _block(result.text, "llm3")
    references = [line for line in block.splitlines() if "shown earlier" in line]
    assert len(references) == 1 and "input[0–6]" in references[0]
    assert result.text.count("[run llm3]") == 1  # labels carry no run id: only the header
    assert set(result.verbatim_run_ids) == {run.id for run in trace.runs}


def test_condense_names_a_model_only_when_it_changes() -> None:
    result = condense(_trace(_history_trace(3)), [], budget=20_000)
    assert result.text.count("model=gpt-4o") == 1


def test_condense_shrinks_system_prompt_and_anchors_before_cutting_a_finding_run() -> None:
    runs = [
        Run(
            id="root",
            trace_id="t",
            kind=RunKind.CHAIN,
            inputs={"question": "ROOT-HEAD " + _words(900, "q") + " ROOT-TAIL"},
            outputs={"answer": _words(900, "a")},
        ),
        Run(
            id="plan",
            trace_id="t",
            parent_id="root",
            kind=RunKind.LLM,
            input_messages=(Message(role="system", content=_words(1500, "rule")),),
            output_messages=(Message(role="assistant", content="ok"),),
        ),
        Run(
            id="tool",
            trace_id="t",
            parent_id="root",
            kind=RunKind.TOOL,
            tool_args="{}",
            tool_result="BROKEN " + _words(1200, "row"),
        ),
        Run(
            id="final",
            trace_id="t",
            parent_id="root",
            kind=RunKind.LLM,
            output_messages=(Message(role="assistant", content="FINAL " + _words(900, "f")),),
        ),
    ]
    trace, findings = _trace(runs), [_finding("tool", "BROKEN")]
    result = condense(trace, findings, budget=4_500)
    _check_invariants(trace, findings, result)
    assert "tool" in result.verbatim_run_ids
    assert not {"root", "plan", "final"} & set(result.verbatim_run_ids)
    assert "ROOT-HEAD" in result.text and "FINAL f0" in result.text
    assert "input[0] system" in _block(result.text, "plan")


def test_condense_keeps_root_input_and_final_output_in_part_however_tight() -> None:
    runs = _chain_of_tools(30, result_chars=3000)
    runs[0] = runs[0].model_copy(update={"inputs": {"q": "QUESTION " + "x" * 5000}})
    runs.append(
        Run(
            id="final",
            trace_id="t",
            parent_id="root",
            kind=RunKind.LLM,
            output_messages=(Message(role="assistant", content="ANSWER " + "y" * 5000),),
        )
    )
    trace = _trace(runs)
    findings = [_finding(f"r{i}", f"result {i} ") for i in range(1, 30, 3)]
    result = condense(trace, findings, budget=2_000)
    _check_invariants(trace, findings, result)
    assert "QUESTION x" in result.text and "ANSWER y" in result.text
