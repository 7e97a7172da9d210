"""Replay through each official SDK: the recorded call resent as recorded, and with the fix.

The loopback model admits the tool failure only when its system prompt has a tool-failure policy,
so these tests prove that the fix flips the outcome, that the baseline does not, and that the edit
landed in the recorded call (its user turn, tool call and tool result all resent), not a new one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from loopback_agent import LoopbackModel
from pytest_httpserver import HTTPServer

from refinery.config import Settings
from refinery.models.diagnosis import Edit, FailureType, Hypothesis, Level
from refinery.models.verification import FixStatus
from refinery.pipeline import AnalysisResult
from refinery.traces.model import Trace
from refinery.verify import AgentFlags, VerifyOptions, plan_verification, run_verification
from refinery.verify.agent import AgentTarget
from refinery.verify.call import recorded_call
from refinery.verify.mapping import ProjectFiles, variant
from refinery.verify.replay import make_replayer

POLICY = "If a tool fails, say the weather service is unavailable; never guess."
RECORDED_RULE = "Never guess; if a tool fails say so."
WIRES = {
    "openai": ("sk-test", "/v1"),
    "openai-compatible": ("not-needed", "/v1"),
    "anthropic": ("sk-ant-test", ""),
    "gemini": ("AIza-test", "/"),
}


def _fix(search: str, replace: str, file: str = "prompts/system_prompt.txt") -> Hypothesis:
    return Hypothesis(
        rank=1, title="Add a tool-failure policy", strategy="failure_handling_rule",
        rationale="r", failure_type=FailureType.INSTRUCTION_NOT_FOLLOWED, risk=Level.LOW,
        expected_effect="e", edits=(Edit(file=file, search=search, replace=replace),),
    )  # fmt: skip


def _target(httpserver: HTTPServer, provider: str) -> AgentTarget:
    key, path = WIRES[provider]
    return AgentTarget(
        provider=provider, model="gemini-2.5-flash" if provider == "gemini" else "agent-model",
        base_url=httpserver.url_for(path), api_key=key, key_env="KEY",
    )  # fmt: skip


def _system(body: dict[str, Any], provider: str) -> str:
    if provider == "anthropic":
        return str(body["system"])
    if provider == "gemini":
        return str(body["systemInstruction"]["parts"][0]["text"])
    return str(body["messages"][0]["content"])


@pytest.mark.parametrize("provider", list(WIRES))
def test_fix_flips_the_replayed_answer_and_the_baseline_does_not(
    provider: str, httpserver: HTTPServer, agent_model: LoopbackModel,
    weather: tuple[Path, AnalysisResult, Trace],
) -> None:  # fmt: skip
    _, result, trace = weather
    call = recorded_call(trace, None)
    files = ProjectFiles(prompts={"prompts/system_prompt.txt": RECORDED_RULE}, evals={}, configs={})
    patched = variant(_fix(RECORDED_RULE, f"{RECORDED_RULE} {POLICY}"), call, files)
    assert patched.call is not None and patched.problem is None
    replayer = make_replayer(_target(httpserver, provider))

    baseline, fixed = replayer.send(call), replayer.send(patched.call)

    assert baseline.text == "It is sunny in Paris."
    assert fixed.text == "Sorry, the weather service is unavailable right now."
    before, after = agent_model.log
    recorded = next(m.content for m in call.messages if m.role == "system")
    assert RECORDED_RULE in recorded and _system(before, provider) == recorded
    assert _system(after, provider) == recorded.replace(RECORDED_RULE, f"{RECORDED_RULE} {POLICY}")
    sent = json.dumps(after)
    assert "Weather in Paris?" in sent and "get_weather" in sent and "weather API down" in sent
    assert fixed.input_tokens == 120 and fixed.output_tokens == 12


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_whole_verification_through_each_sdk_reranks_by_verified_effect(
    provider: str, httpserver: HTTPServer, agent_model: LoopbackModel,
    weather: tuple[Path, AnalysisResult, Trace],
) -> None:  # fmt: skip
    root, result, trace = weather
    key, path = WIRES[provider]
    env_key = {"openai": "OPENAI", "anthropic": "ANTHROPIC", "gemini": "GEMINI"}[provider]
    env = {f"{env_key}_API_KEY": key, f"{env_key}_BASE_URL": httpserver.url_for(path)}
    settings = Settings(repo_root=root, env=env)
    flags = AgentFlags(provider=provider, model="gemini-2.5-flash" if provider == "gemini" else
                       "gpt-4o-mini" if provider == "openai" else "claude-haiku-4-5",
                       base_url=httpserver.url_for(path))  # fmt: skip
    options = VerifyOptions(runs=3, max_cases=1, agent=flags)
    plan = plan_verification(result, trace, settings, options)

    report = run_verification(plan)

    assert report.baseline is not None and (report.baseline.passed, report.baseline.runs) == (0, 3)
    by_rank = {f.rank: f for f in report.fixes}
    policy = next(f for f in report.fixes if "tool fails" in f.title)
    assert policy.status is FixStatus.REPLAYED and policy.pass_rate is not None
    assert policy.pass_rate.passed == 3 and policy.effect == 1.0
    assert policy.verdict == "fixes it in 3 of 3 replays; the original prompt failed 3 of 3"
    assert report.ranking[0] == policy.rank
    effects = [by_rank[r].effect for r in report.ranking if by_rank[r].effect is not None]
    assert effects == sorted(effects, reverse=True) and len(effects) >= 2
    # A fix that does not change the answer is reported as such, not as a success.
    assert any(f.pass_rate is not None and f.pass_rate.passed == 0 for f in report.fixes)
    assert report.judge is not None and report.judge.startswith(provider)
    assert report.calls == len(agent_model.log)
    settings_sent = [r.get("generationConfig", r) for r in agent_model.agent_requests()]
    temperatures = {s["temperature"] for s in settings_sent}
    assert temperatures == {0.7, 0.2}  # config.yaml's 0.7 as the recorded default; fix 4's 0.2
