"""Hypotheses that follow the diagnosis' knobs and findings: raise or lower limits, retriever
settings, a stronger model, and regression cases added to pytest eval files."""

from __future__ import annotations

import ast
from typing import Any

from refinery.analysis.analyser import AnalyserInput, AnalyserOutput, ContextFile, FileRole
from refinery.analysis.detectors import run_detectors
from refinery.analysis.findings import DetectorInput
from refinery.analysis.offline import OfflineAnalyser
from refinery.analysis.offline.edit_targets import apply_edit, config_edit, upgraded_model
from refinery.analysis.offline.eval_targets import eval_case_edit
from refinery.knowledge.patterns import load_patterns
from refinery.models.diagnosis import FailureType, Hypothesis
from refinery.traces.model import Message, Run, RunKind, Trace, build_trace

PROMPT = "You are a travel desk assistant for a rail company.\nBe concise.\n"


def _trace(*runs: Run) -> Trace:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN)
    return build_trace((root, *runs), trace_id="t", source="file", format="test")


def _llm(run_id: str, answer: str, user: str = "Hi", model: str = "gpt-4o-mini") -> Run:
    return Run(
        id=run_id, trace_id="t", parent_id="root", name="chat", kind=RunKind.LLM, model=model,
        input_messages=(Message(role="system", content=PROMPT), Message(role="user", content=user)),
        output_messages=(Message(role="assistant", content=answer),),
    )  # fmt: skip


def _step(run_id: str, name: str, inputs: dict[str, Any], outputs: Any) -> Run:
    return Run(
        id=run_id, trace_id="t", parent_id="root", name=name, kind=RunKind.CHAIN,
        inputs=inputs, outputs=outputs,
    )  # fmt: skip


def _analyse(trace: Trace, expected: str, config: str, name: str = "agent.yaml") -> AnalyserOutput:
    findings = tuple(run_detectors(DetectorInput(trace=trace, expected=expected)))
    files = (
        ContextFile(path="prompt.txt", role=FileRole.PROMPT, content=PROMPT),
        ContextFile(path=name, role=FileRole.CONFIG, content=config),
    )
    data = AnalyserInput(
        trace=trace, expected=expected, findings=findings, condensed="", files=files
    )
    return OfflineAnalyser().analyse(data)


def _config_change(out: AnalyserOutput, strategy: str = "change_config") -> Hypothesis:
    return next(h for h in out.hypotheses if h.strategy == strategy and h.valid)


def test_step_limit_stop_raises_the_named_limit_and_adds_no_loop_guard() -> None:
    stop = _step("s1", "planner", {"turns": 6, "max_turns": 6}, {"output": "halted"})
    trace = _trace(_llm("l1", "", user="Plan my three-city trip"), stop)
    config = "agent:\n  max_iterations: 40\n  max_turns: 6\n"
    out = _analyse(trace, "should plan all three legs of the trip", config)
    assert out.diagnosis.failure_type is FailureType.ORCHESTRATION_ISSUE
    change = _config_change(out)
    edited = apply_edit(config, change.edits[0])
    assert "max_turns: 12" in edited and "max_iterations: 40" in edited
    assert "general.loop-guard" not in {p for h in out.hypotheses for p in h.patterns}
    assert "12" in change.expected_effect


def test_a_loop_lowers_the_limit_and_keeps_the_loop_guard() -> None:
    calls = [
        Run(
            id=f"t{i}",
            trace_id="t",
            parent_id="root",
            name="fare_search",
            kind=RunKind.TOOL,
            tool_name="fare_search",
            tool_args='{"from": "Leeds"}',
            tool_result="no fares",
        )  # fmt: skip
        for i in range(4)
    ]
    trace = _trace(*calls, _llm("l1", "Still searching."))
    out = _analyse(trace, "should report that no fares were found", "max_iterations: 30\n")
    patterns = {p for h in out.hypotheses for p in h.patterns}
    assert "general.loop-guard" in patterns
    change = _config_change(out)
    assert "max_iterations: 15" in apply_edit("max_iterations: 30\n", change.edits[0])


def test_trimmed_history_widens_the_window_and_keeps_stated_needs() -> None:
    trim = _step("s1", "history_window", {"turns": 14}, {"dropped": 6})
    trace = _trace(trim, _llm("l1", "Your seat is in coach C."))
    config = '{\n  "memory": {"max_history": 8},\n  "temperature": 0.3\n}\n'
    out = _analyse(
        trace, "the seat should be wheelchair accessible as asked earlier", config, "c.json"
    )
    assert out.diagnosis.failure_type is FailureType.CONTEXT_ISSUE
    change = _config_change(out)
    assert '"max_history": 16' in apply_edit(config, change.edits[0])
    rule = next(h for h in out.hypotheses if h.strategy == "add_rule")
    assert "accessibility" in rule.edits[0].replace and "wheelchair" not in rule.edits[0].replace


def test_empty_retrieval_lowers_the_threshold_and_grounds_the_answer() -> None:
    found = Run(
        id="r1", trace_id="t", parent_id="root", name="timetable_search", kind=RunKind.RETRIEVER,
        inputs={"query": "night trains to Inverness"}, outputs={"documents": []},
    )  # fmt: skip
    trace = _trace(found, _llm("l1", "The night train leaves at 21:15."))
    config = "retriever:\n  top_k: 4\n  score_threshold: 0.8\n"
    out = _analyse(trace, "should say the timetable has no night trains listed", config)
    assert out.diagnosis.failure_type is FailureType.RETRIEVAL_ISSUE
    assert "top_k: 8" in apply_edit(config, _config_change(out).edits[0])
    threshold = _config_change(out, "retrieval_filter")
    assert "score_threshold: 0.4" in apply_edit(config, threshold.edits[0])
    grounding = next(h for h in out.hypotheses if h.strategy == "add_rule")
    assert "could not find it" in grounding.edits[0].replace


def test_wrong_figure_proposes_a_method_rule_and_a_stronger_model() -> None:
    user = "Three tickets at 18.60 each plus a 4.50 booking fee: how much in total?"
    trace = _trace(_llm("l1", "That comes to 58.30 altogether.", user=user))
    config = 'llm = {"model": "gpt-4o-mini", "temperature": 0.2}\n'
    out = _analyse(trace, "The total is 60.30.", config, "settings.py")
    assert out.diagnosis.failure_type is FailureType.MODEL_LIMITATION
    stronger = _config_change(out, "stronger_model")
    assert '"model": "gpt-4o"' in apply_edit(config, stronger.edits[0])
    assert "cost" in stronger.risk_reasons[0]
    method = next(h for h in out.hypotheses if h.strategy == "add_rule")
    assert "step by step" in method.edits[0].replace and "60.30" not in method.edits[0].replace


def test_model_upgrade_keeps_provider_prefix_and_snapshot_forms() -> None:
    table = next(p for p in load_patterns() if p.id == "config.stronger-model").config
    assert table is not None
    assert upgraded_model("'anthropic:claude-3-5-haiku-latest'", table.upgrades) == (
        "'anthropic:claude-sonnet-4-5'"
    )
    assert upgraded_model("gemini-2.5-flash-lite", table.upgrades) == "gemini-2.5-flash"
    assert upgraded_model("gpt-4o", table.upgrades) is None


def test_rerank_switch_is_turned_on() -> None:
    knob = next(p for p in load_patterns() if p.id == "config.retrieval-rerank").config
    assert knob is not None
    text = "[search]\nrerank = false\ntop_k = 5\n"
    change = config_edit("c.toml", text, knob)
    assert change is not None and "rerank = true" in apply_edit(text, change.edit)


PARAMETRIZED = """import pytest

from garden import ask, grade


@pytest.mark.parametrize(
    ("question", "expected_behaviour"),
    [
        ("When do I prune roses?", "gives the pruning season"),
        pytest.param("Can tomatoes grow indoors?", "answers about indoor growing", id="indoor"),
    ],
)
def test_advice(question, expected_behaviour):
    assert grade(ask(question), expected_behaviour)
"""
MODULE_LIST = (
    "SCENARIOS = (\n    {'id': 3, 'query': 'opening hours', 'must': 'x', 'tags': ['faq']},\n)\n"
)
PLAIN_TEST = """from garden import ask, grade


def test_watering():
    reply = ask("How often should I water ferns?")
    assert grade(reply, "gives a watering frequency")
"""


def _added(content: str, path: str = "test_evals.py") -> str:
    edit = eval_case_edit(path, content, "Is lavender safe for cats?", "should warn about pets")
    assert edit is not None
    new = apply_edit(content, edit)
    assert content.count(edit.search) == 1
    ast.parse(new)
    return new


def test_pytest_parametrize_list_gets_a_case_of_the_same_shape() -> None:
    new = _added(PARAMETRIZED)
    assert '("Is lavender safe for cats?", "should warn about pets"),\n    ],' in new


def test_module_level_case_tuple_gets_a_dict_case() -> None:
    new = _added(MODULE_LIST)
    cases = ast.literal_eval(new.split("=", 1)[1])
    assert len(cases) == 2 and cases[1]["query"] == "Is lavender safe for cats?"
    assert cases[1]["id"] == 4 and cases[1]["tags"] == ["refinery"]


def test_plain_test_function_is_copied_with_new_values() -> None:
    new = _added(PLAIN_TEST)
    assert "def test_watering():" in new and "def test_refinery_regression():" in new
    assert 'grade(reply, "should warn about pets")' in new


def test_python_eval_without_cases_or_grader_is_refused() -> None:
    content = "def test_ok():\n    assert 1 + 1 == 2\n"
    assert eval_case_edit("test_math.py", content, "hi", "greets") is None
