"""``--verbose``: the exact (redacted) prompts and raw answers land in ``.refinery/logs/``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from refinery.analysis.analyser import AnalyserInput
from refinery.analysis.llm_analyst import LLMAnalyser
from refinery.config import Settings
from refinery.errors import ProviderError
from refinery.llm.fake import FakeProvider
from refinery.llm.logs import log_path, read_log
from refinery.llm.provider import Request
from refinery.traces.model import Message, Run, RunKind, build_trace

EMAIL = "ops.lead@example.com"
DIAGNOSIS = {
    "failure_type": "tool_error", "root_cause": "The weather tool timed out.", "confidence": "high",
    "confidence_reason": "The tool run failed.", "trace_summary": "Called the tool; it failed.",
    "gap": "Expected a forecast.", "executive_summary": "The weather service did not answer.",
    "affected_component": "get_weather tool (outside the prompt's control)",
    "evidence": [{"run_id": "llm-1", "quote": "Email [[REDACTED_EMAIL_1]] for help"}],
}  # fmt: skip
HYPOTHESES = {"hypotheses": [{
    "rank": 1, "title": "Handle tool timeouts", "strategy": "failure_handling_rule",
    "rationale": "r", "failure_type": "tool_error", "risk": "low", "expected_effect": "e",
}]}  # fmt: skip


def _data() -> AnalyserInput:
    run = Run(
        id="llm-1", trace_id="t", name="chat", kind=RunKind.LLM, model="gpt-4o",
        output_messages=(Message(role="assistant", content=f"Email {EMAIL} for help"),),
    )  # fmt: skip
    trace = build_trace([run], trace_id="t", source="file", format="test")
    return AnalyserInput(
        trace=trace, expected="give a forecast", findings=(),
        condensed=f"[run llm-1] output: Email {EMAIL} for help",
    )  # fmt: skip


def test_verbose_analysis_logs_each_redacted_prompt_and_raw_answer(tmp_path: Path) -> None:
    settings = Settings(repo_root=tmp_path, verbose=True)
    fake = FakeProvider(replies=[DIAGNOSIS, HYPOTHESES])
    analyser = LLMAnalyser(fake, settings)
    output = analyser.analyse(_data())

    assert analyser.log_path is not None and analyser.log_path.parent == tmp_path / ".refinery/logs"
    assert analyser.log_path.name.endswith("_fake.jsonl")
    entries = read_log(analyser.log_path)
    assert [e["schema"] for e in entries] == ["diagnosis", "hypotheses"]
    assert [e["prompt"] for e in entries] == [r.prompt for r in fake.requests]
    assert [e["system"] for e in entries] == [r.system for r in fake.requests]
    assert json.loads(entries[0]["response"]) == DIAGNOSIS
    assert EMAIL not in analyser.log_path.read_text()
    assert output.diagnosis.evidence[0].quote == f"Email {EMAIL} for help"


def test_failed_call_is_logged_before_the_error_propagates(tmp_path: Path) -> None:
    def refuse(request: Request) -> str:
        raise ProviderError("fake rejected the API key (HTTP 401)", "check FAKE_KEY")

    analyser = LLMAnalyser(FakeProvider(refuse), Settings(repo_root=tmp_path, verbose=True))
    with pytest.raises(ProviderError):
        analyser.analyse(_data())

    assert analyser.log_path is not None
    (entry,) = read_log(analyser.log_path)
    assert entry["error"] == "fake rejected the API key (HTTP 401): check FAKE_KEY"


def test_quiet_analysis_writes_no_log(tmp_path: Path) -> None:
    analyser = LLMAnalyser(
        FakeProvider(replies=[DIAGNOSIS, HYPOTHESES]), Settings(repo_root=tmp_path)
    )
    analyser.analyse(_data())

    assert analyser.log_path is None and not (tmp_path / ".refinery").exists()
    assert len(analyser.transcript) == 2


def test_log_names_sort_by_time_and_are_safe_file_names(tmp_path: Path) -> None:
    settings = Settings(repo_root=tmp_path)
    early = log_path(settings, "openai-compatible", now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    late = log_path(settings, "my/provider", now=datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC))

    assert early.name == "20260102T030405000000Z_openai-compatible.jsonl"
    assert late.name == "20260102T030406000000Z_my-provider.jsonl" and early < late
