from __future__ import annotations

import json
from pathlib import Path

import pytest

from refinery.analysis.detectors import coverage
from refinery.analysis.detectors.excerpts import quotes
from refinery.analysis.detectors.terms import stem, tokens
from refinery.analysis.findings import DetectorInput, Finding, Severity
from refinery.traces.model import Message, Run, RunKind, Trace, build_trace
from refinery.traces.sources import load_trace
from sample_paths import FIXTURES as SAMPLE_FIXTURES

FIXTURES = SAMPLE_FIXTURES
WEATHER = FIXTURES / "generated" / "langchain_fake_weather_agent.runs_query.json"
TAU = FIXTURES / "tau-bench" / "gpt-4o-airline.failed-subset.json"
MEMORY_PROMPT = "You are a helpful shopping assistant. Answer questions about our products."


def _chat(system: str, answer: str) -> Trace:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN, outputs={"out": answer})
    llm = Run(
        id="llm",
        trace_id="t",
        parent_id="root",
        kind=RunKind.LLM,
        input_messages=(
            Message(role="system", content=system),
            Message(role="user", content="Do you remember what I bought last week?"),
        ),
        output_messages=(Message(role="assistant", content=answer),),
    )
    return build_trace((root, llm), trace_id="t", source="file", format="test")


def _found(
    trace: Trace, expected: str, prompts: tuple[tuple[str, str], ...] = ()
) -> dict[str, Finding]:
    data = DetectorInput(trace=trace, expected=expected, prompt_texts=prompts)
    found = list(coverage.expectation_coverage(data))
    for item in found:
        assert not item.evidence or quotes(trace.get(item.run_id), item.evidence), item  # type: ignore[arg-type]
    assert len({f.kind for f in found}) == len(found)
    return {f.kind: f for f in found}


def test_weather_rule_exists_but_the_answer_invents_sunny() -> None:
    trace = load_trace(WEATHER)
    found = _found(trace, "The agent should say it cannot get the weather and should not guess")
    rule = found["expectation_in_prompt"]
    assert (rule.severity, rule.evidence) == (
        Severity.INFO,
        "You are a weather bot. Never guess; if a tool fails say so.",
    )
    unmet = found["expectation_not_met"]
    assert (unmet.severity, unmet.evidence) == (Severity.MEDIUM, "It is sunny in Paris.")
    assert trace.get(unmet.run_id).kind is RunKind.LLM  # type: ignore[union-attr]


def test_missing_rule_and_unmet_answer_with_synonyms() -> None:
    trace = _chat(MEMORY_PROMPT, "Yes! Last week you bought a red scarf.")
    found = _found(trace, "The assistant should say it can't remember previous conversations")
    gap = found["expectation_not_in_prompt"]
    assert (gap.severity, gap.run_id) == (Severity.MEDIUM, "llm")
    assert "expectation_not_met" in found and "expectation_in_prompt" not in found


def test_synonyms_satisfy_the_expectation() -> None:
    system = MEMORY_PROMPT + " You have no memory of past chats; say you are unable to recall them."
    trace = _chat(system, "Sorry, I'm not able to recall earlier conversations.")
    found = _found(trace, "The assistant should say it can't remember previous conversations")
    assert found["expectation_in_prompt"].evidence.startswith("You have no memory of past chats")
    met = found["expectation_met"]
    assert (met.severity, met.run_id) == (Severity.INFO, "llm")


def test_prompt_file_rule_counts_even_when_the_trace_has_no_system_prompt() -> None:
    trace = _chat("", "Here is your refund status.")
    rule = "Escalate to a human agent whenever the user asks for a refund over $100."
    found = _found(
        trace,
        "It should transfer me to a human agent for my big refund",
        (("prompts/sys.txt", rule),),
    )
    covered = found["expectation_in_prompt"]
    assert covered.evidence == ""
    assert "prompts/sys.txt" in covered.message and "Escalate to a human agent" in covered.message


def test_negated_expectation_fails_only_when_the_forbidden_content_appears() -> None:
    trace = _chat(MEMORY_PROMPT, "Our competitor AcmeShop sells it cheaper.")
    found = _found(trace, "The assistant should never mention competitors")
    assert found["expectation_not_met"].evidence == "Our competitor AcmeShop sells it cheaper."
    clean = _found(
        _chat(MEMORY_PROMPT, "We have it in blue."), "It should never mention competitors"
    )
    assert "expectation_not_met" not in clean and "expectation_met" not in clean


def test_answer_saying_the_opposite_is_quoted_there() -> None:
    trace = _chat(MEMORY_PROMPT, "Sure, happy to help with your medication dosage questions!")
    found = _found(trace, "It should refuse medical dosage questions")
    unmet = found["expectation_not_met"]
    assert "opposite" in unmet.message and "help" in unmet.evidence


def test_no_expectation_means_no_coverage_findings() -> None:
    assert _found(load_trace(WEATHER), "  ") == {}


@pytest.mark.parametrize(
    ("words", "same"),
    [
        (("refunds", "refunded", "refunding"), True),
        (("apologize", "apologises"), True),
        (("guess", "guessing"), True),
        (("reply", "rep"), False),
    ],
)
def test_stemming_is_consistent(words: tuple[str, ...], same: bool) -> None:
    assert (len({stem(w) for w in words}) == 1) is same


def test_negation_is_kept_and_contractions_expand() -> None:
    found = tokens("Don't guess; you couldn't know.")
    assert [t.term for t in found] == ["not", "guess", "cannot", "know"]
    assert found[0].negation


def test_tau_bench_transcript_with_its_policy_prompt(tmp_path: Path) -> None:
    case = next(c for c in json.loads(TAU.read_text()) if c["task_id"] == 16)
    path = tmp_path / "traj.json"
    path.write_text(json.dumps(case["traj"]))
    trace = load_trace(path)
    found = _found(trace, "The agent should offer a certificate as compensation for the delay")
    assert "offer a certificate" in found["expectation_in_prompt"].evidence
    assert found["expectation_not_met"].run_id == "msg-10"


def test_negation_rules_only_the_rest_of_its_clause() -> None:
    wanted = coverage.expectation(
        "It should answer the question and not guess; it must cite a source"
    )
    assert wanted.required == {t.term for t in tokens("question source")}
    assert wanted.forbidden == {t.term for t in tokens("guess")}


@pytest.mark.parametrize(
    ("system", "evidence"),
    [
        ("Task:\nYou are a travel bot. Always answer in French.", ""),
        ("## Task\nYou are a travel bot. Always answer in French.", ""),
        ("Task:\nYou are a travel bot. Report fares in euros.", "Report fares in euros."),
    ],
    ids=["label-only", "heading-only", "relevant-sentence"],
)
def test_absence_quotes_only_a_prompt_sentence_about_the_expectation(
    system: str, evidence: str
) -> None:
    trace = _chat(system, "Your flight is on time.")
    found = _found(trace, "It should finish the task and report delays with a refund offer")
    gap = found["expectation_not_in_prompt"]
    assert (gap.run_id, gap.evidence) == ("llm", evidence)
