"""Verification as a whole on the README example: regression guard, cost cap, missing key, judge."""

from __future__ import annotations

from pathlib import Path

from loopback_agent import LoopbackModel
from pytest_httpserver import HTTPServer

from refinery.config import Settings
from refinery.llm.fake import FakeProvider
from refinery.models.diagnosis import Edit, FailureType, Hypothesis, Level
from refinery.models.verification import FixStatus, Judgement
from refinery.pipeline import AnalysisResult
from refinery.traces.model import Message, Trace
from refinery.verify import AgentFlags, VerifyOptions, plan_verification, run_verification
from refinery.verify.judge import Judge
from refinery.verify.report import Outcome, shown

LAST_LINE = "- Do not give travel, health or safety advice beyond the weather itself."


def _rule(rank: int, text: str) -> Hypothesis:
    return Hypothesis(
        rank=rank, title=f"rule {rank}", strategy="add_rule", rationale="r", expected_effect="e",
        failure_type=FailureType.INSTRUCTION_GAP, risk=Level.LOW,
        edits=(Edit(file="prompts/system_prompt.txt", search=LAST_LINE,
                    replace=f"{LAST_LINE}\n\n{text}"),),
    )  # fmt: skip


def _options(httpserver: HTTPServer, **changes: object) -> VerifyOptions:
    flags = AgentFlags(base_url=httpserver.url_for("/v1"), model="gpt-4o-mini")
    return VerifyOptions(agent=flags, **changes)  # type: ignore[arg-type]


def test_regression_guard_reports_eval_cases_that_pass_before_and_fail_after(
    httpserver: HTTPServer, agent_model: LoopbackModel, weather: tuple[Path, AnalysisResult, Trace]
) -> None:
    root, result, trace = weather
    fixes = (
        _rule(1, "If a tool fails, say the weather service is unavailable."),
        _rule(2, "If a tool fails, say the weather service is unavailable. Never call tools."),
    )
    analysis = result.model_copy(update={"hypotheses": fixes})
    plan = plan_verification(
        analysis, trace, Settings(repo_root=root), _options(httpserver, runs=2)
    )

    report = run_verification(plan)

    first, second = report.fixes
    assert (first.effect, second.effect) == (1.0, 1.0)
    assert first.regressions == () and first.cases_checked == 3
    cities = {r.case for r in second.regressions}
    assert cities == {"What's the weather in Lisbon?", "Is it safe to hike in Oslo today?"}
    assert second.verdict == (
        "fixes it in 2 of 2 replays; the original prompt failed 2 of 2; breaks 2 existing eval "
        "case(s) that passed before"
    )
    assert report.ranking == (1, 2)


def test_cost_is_estimated_before_any_call_and_the_cap_stops_calls(
    httpserver: HTTPServer, agent_model: LoopbackModel, weather: tuple[Path, AnalysisResult, Trace]
) -> None:
    root, result, trace = weather
    options = _options(httpserver, runs=2, max_cases=0, max_cost=0.0, concurrency=1)
    plan = plan_verification(result, trace, Settings(repo_root=root), options)
    replayable = sum(1 for v in plan.variants if v.call is not None)
    assert (plan.estimate.replays, plan.estimate.judge_calls) == (
        2 * (1 + replayable),
        2 * (1 + replayable) + 1,
    )
    assert plan.estimate.cost_usd is not None and plan.estimate.cost_usd > 0
    assert agent_model.log == []

    report = run_verification(plan)

    assert len(agent_model.log) == 2  # one replay and its verdict, then the cap
    assert report.baseline is not None
    errors = [j.error for j in report.baseline.judgements]
    assert errors == [None, "not run: --max-cost reached"]


def test_without_a_key_for_the_agent_the_eval_only_fix_is_still_checked(
    httpserver: HTTPServer, agent_model: LoopbackModel, weather: tuple[Path, AnalysisResult, Trace]
) -> None:
    root, result, trace = weather
    settings = Settings(
        repo_root=root,
        provider="openai-compatible",
        base_url=httpserver.url_for("/v1"),
        model="judge",
    )
    options = VerifyOptions(agent=AgentFlags(provider="openai", model="gpt-4o-mini"))
    plan = plan_verification(result, trace, settings, options)

    report = run_verification(plan)

    assert report.notes[0] == (
        "no API key for the agent's model gpt-4o-mini (openai), so fixes cannot be replayed: set "
        "OPENAI_API_KEY, or pass --eval-command to run only your own evals"
    )
    statuses = {f.rank: f.status for f in report.fixes}
    eval_fix = next(f for f in report.fixes if f.status is FixStatus.EVAL_ONLY)
    assert eval_fix.verdict == "catches the failure: the recorded answer fails the case it adds"
    assert {s for r, s in statuses.items() if r != eval_fix.rank} <= {
        FixStatus.NOT_RUN,
        FixStatus.UNMAPPED,
    }
    assert agent_model.agent_requests() == []


def test_the_judge_is_sent_redacted_material_and_its_verdict_keeps_placeholders() -> None:
    provider = FakeProvider(
        lambda r: {"passed": False, "reason": "gave [[REDACTED_EMAIL_1]] a forecast",
                   "quote": "write to [[REDACTED_EMAIL_1]]"}
    )  # fmt: skip
    conversation = (Message(role="tool", content="ERROR: weather API down, ask ops@example.com"),)

    judged = Judge(provider, redact=True).judge(
        "says the service is unavailable", conversation, "It is sunny; write to ops@example.com"
    )

    (sent,) = provider.requests
    assert "ops@example.com" not in sent.prompt and "[[REDACTED_EMAIL_1]]" in sent.prompt
    assert sent.schema_name == "verdict" and sent.schema["required"] == [
        "passed",
        "reason",
        "quote",
    ]
    assert judged.verdict.quote == "write to <email>"
    assert judged.verdict.reason == "gave <email> a forecast"


def test_answers_reasons_and_quotes_are_shown_and_saved_without_sensitive_values() -> None:
    answer = "It is sunny; mail ops@example.com or call +1 415 555 0100"
    judgement = Judgement(
        passed=False, reason="told ops@example.com", quote="ops@example.com", answer=answer
    )
    (outcome,) = shown(
        [Outcome(group="baseline", judgement=judgement, cost=0.0, started=0, ended=1)]
    )
    assert outcome.judgement.answer == "It is sunny; mail <email> or call <phone>"
    assert (outcome.judgement.reason, outcome.judgement.quote) == ("told <email>", "<email>")
