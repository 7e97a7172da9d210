from __future__ import annotations

import ast
import csv
import io
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from refinery.analysis.analyser import AnalyserInput, ContextFile, FileRole
from refinery.analysis.findings import Finding, Severity
from refinery.analysis.offline import OfflineAnalyser
from refinery.models.diagnosis import FailureType, Level
from refinery.traces.model import Message, Run, RunKind, TokenUsage, ToolCall, Trace, build_trace
from sample_paths import FIXTURES as SAMPLE_FIXTURES

ROOT = Path(__file__).resolve().parents[2]
WEATHER = ROOT / "examples" / "weather-agent"

PROMPT_TXT = "You are a support assistant for Acme.\nBe polite and brief.\n"
PROMPT_PY = (
    'import os\n\nSYSTEM_PROMPT = """You are a support assistant for Acme.\n'
    'Be polite and brief.\n"""'
    "\n\n\ndef build() -> str:\n    return SYSTEM_PROMPT\n"
)
PROMPT_JSON = json.dumps(
    {"model": "gpt-4o", "system_prompt": "You are a support assistant.\nBe brief."}, indent=2
)
PROMPT_YAML = (
    "name: acme\nsystem_prompt: |\n  You are a support assistant.\n  Be brief.\nmodel: x\n"
)
EVAL_JSON = json.dumps([{"id": 1, "input": "hi", "expected": "greets back"}], indent=2) + "\n"
EVAL_JSONL = '{"question": "hi", "ideal": "greets"}\n'
EVAL_YAML = "cases:\n  - query: hi\n    criteria: greets back\n"
EVAL_CSV = "input,expected_output\nhi,greets back\n"
CONFIG_YAML = "model: gpt-4o\ntemperature: 0.7\nmax_tokens: 512\nmax_retries: 1\ntop_k: 3\n"
CONFIG_JSON = json.dumps(
    {"llm": {"max_tokens": 400, "timeout": 30}, "max_iterations": 20}, indent=2
)
CONFIG_TOML = (
    "[model]\nname = 'gpt-4o'\nmax_tokens = 300\ntemperature = 0.9\n[retriever]\ntop_k = 4\n"
)
CONFIG_PY = "SETTINGS = dict(max_tokens=256, max_retries=2, recursion_limit=25, temperature=0.8)\n"

PROMPTS = {"p.txt": PROMPT_TXT, "agent.py": PROMPT_PY, "p.json": PROMPT_JSON, "p.yaml": PROMPT_YAML}
EVALS = {"e.json": EVAL_JSON, "e.jsonl": EVAL_JSONL, "e.yaml": EVAL_YAML, "e.csv": EVAL_CSV}
CONFIGS = {"c.yaml": CONFIG_YAML, "c.json": CONFIG_JSON, "c.toml": CONFIG_TOML, "c.py": CONFIG_PY}


@dataclass(frozen=True)
class Scenario:
    trace: Trace
    findings: tuple[Finding, ...]
    expected: str
    failure_type: FailureType
    evidence_run: str


def _msg(role: str, content: str = "", **kw: Any) -> Message:
    return Message(role=role, content=content, **kw)


def _llm(rid: str, system: str, user: str, answer: str = "", **kw: Any) -> Run:
    return Run(
        id=rid,
        trace_id="t",
        parent_id="root",
        kind=RunKind.LLM,
        name="chat",
        model=kw.pop("model", "gpt-4o"),
        input_messages=(_msg("system", system), _msg("user", user)),
        output_messages=(_msg("assistant", answer, tool_calls=kw.pop("calls", ())),),
        **kw,
    )


def _tool(rid: str, name: str, args: str, result: str = "", **kw: Any) -> Run:
    return Run(
        id=rid,
        trace_id="t",
        parent_id="root",
        kind=kw.pop("kind", RunKind.TOOL),
        name=name,
        tool_name=name,
        tool_args=args,
        tool_result=result or None,
        **kw,
    )


def _trace(user: str, *runs: Run, fmt: str = "langsmith-runs", failed: bool = False) -> Trace:
    root = Run(
        id="root",
        trace_id="t",
        name="agent",
        kind=RunKind.CHAIN,
        inputs={"input": user},
        status="error" if failed else "ok",
    )
    return build_trace([root, *runs], trace_id="t", source="file", format=fmt)


def _f(kind: str, run_id: str, evidence: str, severity: Severity = Severity.HIGH) -> Finding:
    return Finding(
        kind=kind, severity=severity, run_id=run_id, message=f"{kind} here", evidence=evidence
    )


SYSTEM = "You are a support assistant for Acme. Be polite and brief."


def _infrastructure() -> Scenario:
    error = "RateLimitError: Error code: 429 - Rate limit reached for gpt-4o, retry after 20s"
    llm = _llm("l1", SYSTEM, "Where is my order?", status="error", error=error)
    trace = _trace("Where is my order?", llm, fmt="otlp", failed=True)
    findings = (_f("infrastructure_error", "l1", "Error code: 429"),)
    return Scenario(
        trace,
        findings,
        "should tell the user about the order status",
        FailureType.INFRASTRUCTURE,
        "l1",
    )


def _context() -> Scenario:
    llm = _llm(
        "l1",
        SYSTEM + " Always cite the policy section.",
        "Summarise the contract",
        "The contract is",
        usage=TokenUsage(prompt_tokens=127_000, completion_tokens=5),
    )
    findings = (_f("near_context_window", "l1", "", Severity.HIGH),)
    trace = _trace("Summarise the contract", llm, fmt="span-tree")
    return Scenario(
        trace, findings, "should cite the policy section", FailureType.CONTEXT_ISSUE, "l1"
    )


def _output_format() -> Scenario:
    llm = _llm(
        "l1", SYSTEM, "List all orders as JSON", '{"orders": [1, 2, 3,', finish_reason="length"
    )
    parser = Run(
        id="p1", trace_id="t", parent_id="root", kind=RunKind.PARSER, name="JsonOutputParser",
        status="error", error="JSONDecodeError: Expecting value: line 1 column 21",
    )  # fmt: skip
    findings = (
        _f("finish_length", "l1", '{"orders": [1, 2, 3,'),
        _f("parse_after_truncation", "p1", "JSONDecodeError: Expecting value"),
    )
    trace = _trace("List all orders as JSON", llm, parser)
    return Scenario(
        trace,
        findings,
        "should return valid JSON with every order",
        FailureType.OUTPUT_FORMAT,
        "l1",
    )


def _orchestration() -> Scenario:
    call = ToolCall(id="c", name="search_orders", arguments='{"q": "late"}')
    runs: list[Run] = []
    for i in range(4):
        runs.append(_llm(f"l{i}", SYSTEM, "Find late orders", calls=(call,)))
        runs.append(_tool(f"t{i}", "search_orders", '{"q": "late"}', "[]"))
    findings = (_f("loop_tool_call", "t3", '{"q": "late"}'),)
    trace = _trace("Find late orders", *runs, fmt="langfuse")
    return Scenario(
        trace,
        findings,
        "should stop searching and report no late orders",
        FailureType.ORCHESTRATION_ISSUE,
        "t3",
    )


def _retrieval() -> Scenario:
    retriever = Run(
        id="r1", trace_id="t", parent_id="root", kind=RunKind.RETRIEVER, name="policy_retriever",
        inputs={"query": "refund window"}, outputs={"documents": []},
    )  # fmt: skip
    llm = _llm("l1", SYSTEM, "How long is the refund window?", "Our refund window is 90 days.")
    findings = (
        _f("empty_tool_result", "r1", '"documents": []'),
        _f("expectation_not_met", "l1", "Our refund window is 90 days."),
    )
    trace = _trace("How long is the refund window?", retriever, llm)
    return Scenario(
        trace,
        findings,
        "should answer from the refund policy document",
        FailureType.RETRIEVAL_ISSUE,
        "r1",
    )


def _tool_error() -> Scenario:
    call = ToolCall(id="c", name="get_stock_level", arguments='{"sku": "A1"')
    first = _llm("l1", SYSTEM, "Is A1 in stock?", calls=(call,), available_tools=("get_inventory",))
    tool = _tool(
        "t1",
        "get_stock_level",
        '{"sku": "A1"',
        status="error",
        error="ToolException: unknown tool get_stock_level",
    )
    last = _llm("l2", SYSTEM, "Is A1 in stock?", "Yes, A1 is in stock with 40 units.")
    findings = (
        _f("unknown_tool", "l1", "get_stock_level"),
        _f("bad_tool_arguments", "l1", '{"sku": "A1"'),
        _f("expectation_not_met", "l2", "Yes, A1 is in stock with 40 units."),
    )
    trace = _trace("Is A1 in stock?", first, tool, last)
    return Scenario(
        trace,
        findings,
        "should check stock with the get_inventory tool",
        FailureType.TOOL_ERROR,
        "l1",
    )


def _not_followed() -> Scenario:
    system = "You are a travel assistant. Always answer in French, whatever the user's language."
    llm = _llm("l1", system, "What is the capital of Italy?", "The capital of Italy is Rome.")
    findings = (
        _f("expectation_in_prompt", "l1", "Always answer in French", Severity.MEDIUM),
        _f("expectation_not_met", "l1", "The capital of Italy is Rome.", Severity.MEDIUM),
    )
    trace = _trace("What is the capital of Italy?", llm, fmt="otlp")
    return Scenario(
        trace,
        findings,
        "The assistant should have answered in French",
        FailureType.INSTRUCTION_NOT_FOLLOWED,
        "l1",
    )


def _gap() -> Scenario:
    llm = _llm(
        "l1",
        SYSTEM,
        "Do you remember what we discussed yesterday?",
        "Yes, we talked about your order.",
    )
    findings = (
        _f("expectation_not_in_prompt", "l1", "", Severity.MEDIUM),
        _f("expectation_not_met", "l1", "Yes, we talked about your order.", Severity.MEDIUM),
    )
    trace = _trace("Do you remember what we discussed yesterday?", llm, fmt="transcript")
    return Scenario(
        trace,
        findings,
        "should say it cannot remember previous chats",
        FailureType.INSTRUCTION_GAP,
        "l1",
    )


def _model_limitation() -> Scenario:
    system = "You are a billing assistant. Calculate totals including 20% VAT exactly."
    llm = _llm(
        "l1", system, "Total for 3 items at 19.99?", "The total is 59.97 plus VAT, so 70.00."
    )
    findings = (
        _f("expectation_in_prompt", "l1", "Calculate totals including 20% VAT", Severity.MEDIUM),
        _f("expectation_not_met", "l1", "so 70.00", Severity.MEDIUM),
    )
    trace = _trace("Total for 3 items at 19.99?", llm, fmt="langsmith-runs")
    return Scenario(
        trace,
        findings,
        "should calculate the total including VAT correctly",
        FailureType.MODEL_LIMITATION,
        "l1",
    )


SCENARIOS = {
    "infrastructure": _infrastructure,
    "context_issue": _context,
    "output_format": _output_format,
    "orchestration_issue": _orchestration,
    "retrieval_issue": _retrieval,
    "tool_error": _tool_error,
    "instruction_not_followed": _not_followed,
    "instruction_gap": _gap,
    "model_limitation": _model_limitation,
}
FILE_SETS = [("p.txt", "e.json", "c.yaml"), ("agent.py", "e.jsonl", "c.json"),
             ("p.json", "e.yaml", "c.toml"), ("p.yaml", "e.csv", "c.py")]  # fmt: skip


def _files(prompt: str, evals: str, config: str) -> tuple[ContextFile, ...]:
    return (
        ContextFile(path=prompt, role=FileRole.PROMPT, content=PROMPTS[prompt]),
        ContextFile(path=evals, role=FileRole.EVAL, content=EVALS[evals]),
        ContextFile(path=config, role=FileRole.CONFIG, content=CONFIGS[config]),
    )


def _parse(path: str, text: str) -> Any:
    suffix = Path(path).suffix
    loaders = {
        ".py": ast.parse, ".json": json.loads, ".yaml": yaml.safe_load, ".toml": tomllib.loads,
        ".jsonl": lambda t: [json.loads(x) for x in t.splitlines() if x.strip()],
        ".csv": lambda t: list(csv.DictReader(io.StringIO(t))), ".txt": str,
    }  # fmt: skip
    return loaders[suffix](text)


def _analyse(scenario: Scenario, files: tuple[ContextFile, ...]) -> Any:
    data = AnalyserInput(
        trace=scenario.trace, expected=scenario.expected, findings=scenario.findings,
        condensed="", files=files,
    )  # fmt: skip
    return OfflineAnalyser().analyse(data)


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("file_set", FILE_SETS, ids=lambda s: s[0])
def test_offline_diagnoses_each_category_with_exact_edits(
    name: str, file_set: tuple[str, str, str]
) -> None:
    scenario = SCENARIOS[name]()
    files = _files(*file_set)
    out = _analyse(scenario, files)
    diagnosis = out.diagnosis
    assert diagnosis.failure_type is scenario.failure_type
    assert "Rule-based" in diagnosis.confidence_reason
    assert any(e.run_id == scenario.evidence_run and e.verified for e in diagnosis.evidence)
    assert all(e.verified for e in diagnosis.evidence)
    assert 3 <= len(out.hypotheses) <= 5
    assert len({h.strategy for h in out.hypotheses}) == len(out.hypotheses)
    assert [h.rank for h in out.hypotheses] == list(range(1, len(out.hypotheses) + 1))
    contents = {f.path: f.content for f in files}
    for hypothesis in out.hypotheses:
        assert hypothesis.valid == bool(hypothesis.edits)
        for edit in hypothesis.edits:
            assert contents[edit.file].count(edit.search) == 1
            edited = contents[edit.file].replace(edit.search, edit.replace, 1)
            assert edited != contents[edit.file]
            _parse(edit.file, edited)
    assert any(h.valid and h.strategy == "add_eval" for h in out.hypotheses)


def test_offline_prompt_edit_lands_inside_the_prompt_value() -> None:
    for prompt in ("agent.py", "p.json", "p.yaml"):
        out = _analyse(_gap(), _files(prompt, "e.json", "c.yaml"))
        rule = next(h for h in out.hypotheses if h.strategy == "add_rule").edits[0]
        edited = PROMPTS[prompt].replace(rule.search, rule.replace, 1)
        parsed = _parse(prompt, edited)
        if prompt == "agent.py":
            namespace: dict[str, Any] = {}
            exec(compile(parsed, prompt, "exec"), namespace)
            value = namespace["SYSTEM_PROMPT"]
        else:
            value = parsed["system_prompt"]
        assert "remember previous chats" in value


def test_offline_truncation_raises_max_tokens_in_config() -> None:
    out = _analyse(_output_format(), _files("p.txt", "e.json", "c.yaml"))
    config = next(h for h in out.hypotheses if h.strategy == "change_config")
    assert config.edits[0].search == "max_tokens: 512"
    assert config.edits[0].replace == "max_tokens: 1024"


def test_offline_rule_text_follows_the_expectation() -> None:
    files = _files("p.txt", "e.json", "c.yaml")
    first = _analyse(_gap(), files)
    other = Scenario(**{**_gap().__dict__, "expected": "must not promise delivery dates"})
    second = _analyse(other, files)

    def rule(out: Any) -> str:
        return next(h for h in out.hypotheses if h.strategy == "add_rule").edits[0].replace

    assert "say you cannot remember previous chats" in rule(first).lower()
    assert "do not promise delivery dates" in rule(second).lower()
    assert rule(first) != rule(second)


def test_offline_without_files_still_diagnoses_with_invalid_hypotheses() -> None:
    out = _analyse(_gap(), ())
    assert out.diagnosis.failure_type is FailureType.INSTRUCTION_GAP
    assert 3 <= len(out.hypotheses) <= 5
    assert all(not h.valid and not h.edits for h in out.hypotheses)
    prompt_problems = [p for h in out.hypotheses for p in h.problems if "--prompt-files" in p]
    assert "no prompt files in the project's context: pass --prompt-files" in prompt_problems


def test_offline_tool_failure_with_fabrication_and_no_rule_is_a_tool_error() -> None:
    fail = _tool(
        "t1",
        "get_weather",
        '{"city": "Oslo"}',
        status="error",
        error="TimeoutError: weather API timed out",
    )
    answer = _llm(
        "l2", "You are a weather bot.", "Weather in Oslo?", "It is 12 degrees and cloudy in Oslo."
    )
    trace = _trace("Weather in Oslo?", fail, answer)
    finding = _f("tool_error", "t1", "TimeoutError: weather API timed out")
    expected = "should say the weather is unavailable"
    scenario = Scenario(trace, (finding,), expected, FailureType.TOOL_ERROR, "t1")
    out = _analyse(scenario, _files("p.txt", "e.json", "c.yaml"))
    assert out.diagnosis.failure_type is FailureType.TOOL_ERROR
    assert "no prompt rule says what to do when a tool fails" in out.diagnosis.root_cause
    assert out.hypotheses[0].strategy == "failure_handling_rule"
    assert out.diagnosis.confidence is Level.HIGH


def _weather_example() -> tuple[Trace, tuple[Finding, ...], Any]:
    from refinery.analysis.detectors import run_detectors
    from refinery.analysis.findings import DetectorInput
    from refinery.traces.sources import load_trace

    trace = load_trace(WEATHER / "trace.json")
    expected = "should say the weather service is unavailable instead of guessing"
    paths = {"prompts/system_prompt.txt": FileRole.PROMPT, "evals/cases.json": FileRole.EVAL,
             "config.yaml": FileRole.CONFIG}  # fmt: skip
    files = tuple(
        ContextFile(path=p, role=r, content=(WEATHER / p).read_text(encoding="utf-8"))
        for p, r in paths.items()
    )
    prompts = tuple((f.path, f.content) for f in files if f.role is FileRole.PROMPT)
    findings = tuple(
        run_detectors(DetectorInput(trace=trace, expected=expected, prompt_texts=prompts))
    )
    out = OfflineAnalyser().analyse(
        AnalyserInput(trace=trace, expected=expected, findings=findings, condensed="", files=files)
    )
    return trace, findings, out


def test_weather_example_readme_files_and_output_agree() -> None:
    readme = (WEATHER / "README.md").read_text(encoding="utf-8")
    prompt_file = (WEATHER / "prompts" / "system_prompt.txt").read_text(encoding="utf-8")
    trace, findings, out = _weather_example()
    deployed = next(m.content for r in trace for m in r.input_messages if m.role == "system")
    drift_line = "Never guess; if a tool fails say so."
    # the files: the rule is in the prompt the model saw, not in the team's prompt file
    assert drift_line in deployed and drift_line not in prompt_file
    assert f'"{drift_line}"' in readme
    # the output: drift reported with that sentence, the verdict the README names
    drift = [f for f in findings if f.kind == "prompt_drift"]
    assert len(drift) == 1 and drift_line in drift[0].message and drift_line in drift[0].evidence
    assert f"`{out.diagnosis.failure_type.value}` failure" in readme
    assert any(drift_line in e.quote and e.verified for e in out.diagnosis.evidence)
    assert "not in the project's prompt file" in out.diagnosis.root_cause
    assert "differs from prompts/system_prompt.txt" in out.diagnosis.affected_component
    assert not any(f.kind == "expectation_not_in_prompt" for f in findings)
    # the fixes: exactly the README's ranked list, none restating a rule the file lacks
    listed = re.findall(r"^  \d\. (.+)$", readme, re.M)
    assert listed == [h.title for h in out.hypotheses]
    assert all(h.valid and h.strategy != "reposition_rule" for h in out.hypotheses)
    for h in out.hypotheses:
        for edit in h.edits:
            assert (WEATHER / edit.file).read_text(encoding="utf-8").count(edit.search) == 1
    # the first fix's rule is the bullet the README quotes, appended to the prompt's list
    rule = out.hypotheses[0].edits[0]
    bullet = rule.replace[len(rule.search) :]
    assert bullet.startswith("\n- ") and f"```\n{bullet.lstrip()}\n```" in readme
    assert rule.search.endswith(
        "- Do not give travel, health or safety advice beyond the weather itself."
    )


@pytest.mark.parametrize(
    "name", ["weather_agent.otlp.jsonl", "langchain_fake_weather_agent.ingested_raw.json"]
)
def test_offline_reads_the_same_failure_from_other_formats(name: str) -> None:
    from refinery.analysis.detectors import run_detectors
    from refinery.analysis.findings import DetectorInput
    from refinery.traces.sources import load_trace

    trace = load_trace(SAMPLE_FIXTURES / "generated" / name)
    expected = "should say the weather service is unavailable instead of guessing"
    findings = tuple(run_detectors(DetectorInput(trace=trace, expected=expected)))
    out = OfflineAnalyser().analyse(
        AnalyserInput(trace=trace, expected=expected, findings=findings, condensed="")
    )
    assert out.diagnosis.failure_type is FailureType.INSTRUCTION_NOT_FOLLOWED
    assert "failed: ValueError: weather API down for Paris" in out.diagnosis.trace_summary
    assert all(e.verified for e in out.diagnosis.evidence)
