from __future__ import annotations

from refinery.analysis.detectors.drift import prompt_drift, similarity
from refinery.analysis.findings import DetectorInput, FindingKind
from refinery.traces.model import Message, Run, RunKind, build_trace

FILE = (
    "You are Skye, the weather assistant of a travel app.\n"
    "Always call the get_weather tool for the city the user names.\n"
    "Give the temperature in both Celsius and Fahrenheit.\n"
    "Keep answers to one or two friendly sentences.\n"
)


def _trace(system: str) -> object:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN)
    llm = Run(
        id="l1", trace_id="t", parent_id="root", kind=RunKind.LLM, name="chat",
        input_messages=(Message(role="system", content=system),
                        Message(role="user", content="Weather in Oslo?")),
    )  # fmt: skip
    return build_trace([root, llm], trace_id="t", source="file", format="langsmith-runs")


def _drift(system: str, file: str = FILE) -> list[object]:
    data = DetectorInput(trace=_trace(system), prompt_texts=(("prompts/system.txt", file),))  # type: ignore[arg-type]
    return list(prompt_drift(data))


def test_deployed_prompt_with_an_extra_rule_is_drift_naming_the_sentences() -> None:
    deployed = FILE.replace("Keep answers", "Never guess; if a tool fails say so.\nKeep answers")
    deployed = deployed.replace("Give the temperature in both Celsius and Fahrenheit.\n", "")
    (found,) = _drift(deployed)
    assert found.kind is FindingKind.PROMPT_DRIFT and found.run_id == "l1"
    assert 'only in what the model saw: "Never guess; if a tool fails say so."' in found.message
    assert 'only in prompts/system.txt: "Give the temperature in both Celsius and Fahrenheit."' in (
        found.message
    )
    assert found.evidence == "Never guess; if a tool fails say so."


def test_the_same_prompt_or_a_filled_template_is_not_drift() -> None:
    assert _drift(FILE) == []
    template = FILE.replace("a travel app", "{app_name}")
    assert _drift(FILE.replace("a travel app", "Wanderly"), template) == []


def test_an_unrelated_prompt_is_not_a_version_of_the_file() -> None:
    other = "You are a coding agent. Run the tests before you commit. Explain each change."
    assert similarity(other, FILE) < 0.35
    assert _drift(other) == []
