"""``refinery analyze --verify`` and ``refinery verify`` on the README example, with the agent's
model played by an OpenAI-compatible loopback server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from refinery.cli import app
from sample_paths import ROOT

sys.path.insert(0, str(ROOT / "tests" / "verify"))
from loopback_agent import LoopbackModel  # noqa: E402

EXPECTED = "should say the weather service is unavailable instead of guessing"
FILES = [
    "--prompt-files", "examples/weather-agent/prompts/system_prompt.txt",
    "--eval-files", "examples/weather-agent/evals/cases.json",
    "--config-files", "examples/weather-agent/config.yaml",
]  # fmt: skip
TRACE = "examples/weather-agent/trace.json"


@pytest.fixture
def server(httpserver: HTTPServer) -> HTTPServer:
    LoopbackModel().serve(httpserver)
    return httpserver


def _verify(server: HTTPServer, *extra: str) -> Any:
    return CliRunner().invoke(app, [
        "analyze", TRACE, "--project", "weather", "--expected", EXPECTED, *FILES, "--verify",
        "--runs", "2", "--agent-base-url", server.url_for("/v1"), *extra,
    ])  # fmt: skip


def test_analyze_verify_shows_each_fix_against_the_baseline(
    agent_repo: Path, server: HTTPServer
) -> None:
    result = _verify(server)
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "Baseline (the call as recorded): 0 of 2 pass (95% interval 0%–66%)" in out
    assert (
        "Fix 1 Tell the agent what to do when a tool fails: fixes it in 2 of 2 replays; the "
        "original prompt failed 2 of 2" in out
    )
    assert "Fix 2 Add an eval case that captures the expectation: catches the failure" in out
    assert "Fix 3 Lower the sampling temperature: no measurable effect" in out
    assert "Best verified fix: 1." in out
    assert "verify: 25 replays and 26 judge calls, estimated $0.00" in " ".join(
        result.stderr.split()
    )


def test_analyze_verify_json_carries_the_report(agent_repo: Path, server: HTTPServer) -> None:
    result = _verify(server, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    report = data["verification"]
    assert data["analysis_id"].startswith("an_") and report["runs"] == 2
    assert report["ranking"][0] == 1 and report["baseline"]["passed"] == 0
    assert report["agent"] == "openai-compatible gpt-4o-mini"
    assert report["call"]["run_id"] == "01a2167b-5f75-7242-bd6e-bc8a221cc3e8"
    assert report["call"]["why"].startswith(
        "the step where it went wrong: GenericFakeChatModel carried on"
    )
    fix1 = next(f for f in report["fixes"] if f["rank"] == 1)
    assert fix1["pass_rate"]["passed"] == 2 and fix1["effect"] == 1.0


def test_apply_after_verify_takes_the_best_verified_fix(
    agent_repo: Path, server: HTTPServer
) -> None:
    result = _verify(server, "--apply", "best")  # what main() makes of a bare --apply
    assert result.exit_code == 0, result.output
    prompt = (agent_repo / "examples/weather-agent/prompts/system_prompt.txt").read_text()
    assert "If a tool call fails, times out or returns an error" in prompt
    assert "IMPORTANT (restated" not in prompt
    log = subprocess.run(
        ["git", "log", "-1", "--format=%s"], cwd=agent_repo, capture_output=True, text=True
    )
    assert "Tell the agent what to do when a tool fails" in log.stdout


def test_eval_command_runs_before_and_with_each_fix(agent_repo: Path, server: HTTPServer) -> None:
    check = (
        f"{sys.executable} -c \"import sys; t = open('examples/weather-agent/prompts/"
        "system_prompt.txt').read(); sys.exit(0 if 'If a tool call fails' in t else 1)\""
    )
    result = _verify(server, "--eval-command", check, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["verification"]
    assert report["eval_command"]["exit_code"] == 1
    codes = {f["rank"]: f["eval_command"]["exit_code"] for f in report["fixes"]}
    assert codes == {1: 0, 2: 1, 3: 1, 4: 1, 5: 1}


def test_cost_above_the_threshold_needs_yes(
    agent_repo: Path, server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFINERY_VERIFY_CONFIRM_USD", "0")
    result = _verify(server)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: the estimated cost $0.0")
    assert result.stderr.strip().endswith("pass --yes to proceed, or --max-cost to cap it")
    assert _verify(server, "--yes").exit_code == 0


def test_estimate_above_max_cost_is_refused_before_any_call(
    agent_repo: Path, httpserver: HTTPServer
) -> None:
    result = _verify(httpserver, "--max-cost", "0.00001")
    assert result.exit_code == 2
    assert "is above --max-cost $0.0000: lower --runs or --max-cases" in result.stderr
    assert httpserver.log == []


def test_without_any_key_verification_is_refused_in_one_line(agent_repo: Path) -> None:
    """No agent key and no judge: nothing can be checked, so no table of "not run" rows."""
    result = CliRunner().invoke(app, [
        "analyze", TRACE, "--project", "weather", "--expected", EXPECTED, *FILES, "--verify",
    ])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    analysis_id = json.loads(CliRunner().invoke(app, ["show", "--json"]).stdout)["analysis_id"]
    assert result.stderr == (
        f"error: cannot verify {analysis_id}: no API key for the agent's model gpt-4o-mini "
        "(openai), so fixes cannot be replayed: set OPENAI_API_KEY, or pass --eval-command to "
        "run only your own evals\n"
    )
    again = CliRunner().invoke(app, ["verify", "--trace", TRACE, "--json"])
    assert (again.exit_code, again.stdout) == (2, "")
    assert again.stderr.startswith(f"error: cannot verify {analysis_id}: no API key")


def test_an_unknown_agent_provider_is_a_usage_error(agent_repo: Path) -> None:
    result = CliRunner().invoke(app, [
        "analyze", TRACE, "--project", "weather", "--expected", EXPECTED, "--verify",
        "--agent-provider", "foo",
    ])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        "error: unknown agent provider 'foo': use one of: openai, azure, anthropic, gemini, "
        "openai-compatible\n"
    )


def test_verify_a_saved_analysis_then_show_and_apply_the_best_verified_fix(
    agent_repo: Path, server: HTTPServer
) -> None:
    runner = CliRunner()
    analysed = runner.invoke(app, ["analyze", TRACE, "--project", "weather", "--expected",
                                   EXPECTED, *FILES, "--json"])  # fmt: skip
    analysis_id = json.loads(analysed.stdout)["analysis_id"]
    trace = (agent_repo / TRACE).resolve()
    trace.rename(agent_repo / "moved.json")
    moved = runner.invoke(app, ["verify", analysis_id[:8]])
    assert (moved.exit_code, moved.stderr) == (2, (
        f"error: {analysis_id} analysed a trace file from {trace}, which no longer holds it: "
        "pass it with --trace PATH\n"
    ))  # fmt: skip
    (agent_repo / "moved.json").rename(trace)
    unverified = runner.invoke(app, ["apply", analysis_id])
    assert unverified.exit_code == 2 and "was not verified" in unverified.stderr

    # The trace file is read again from where the analysis read it: no --trace needed.
    verified = runner.invoke(app, ["verify", "--runs", "2", "--agent-base-url",
                                   server.url_for("/v1"), "--json"])  # fmt: skip
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["ranking"][0] == 1
    shown = runner.invoke(app, ["show", "--json"])
    assert json.loads(shown.stdout)["verification"]["ranking"][0] == 1
    assert "Best verified fix: 1." in " ".join(runner.invoke(app, ["show"]).stdout.split())

    applied = runner.invoke(app, ["apply"])
    assert applied.exit_code == 0, applied.output
    assert f"Applied fix 1 of {analysis_id}" in applied.stdout
    prompt = (agent_repo / "examples/weather-agent/prompts/system_prompt.txt").read_text()
    assert "If a tool call fails, times out or returns an error" in prompt
