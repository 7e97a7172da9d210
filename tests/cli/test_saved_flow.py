"""``analyze`` → ``show`` → ``apply`` → ``history`` → ``undo`` through the CLI, with a scripted LLM.

The provider answers the second analysis differently (as a real LLM would): ``refinery apply`` must
write the fix the first analysis showed, not the second one's.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from refinery.cli import app
from refinery.config import Settings
from refinery.llm.fake import FakeProvider

registry = importlib.import_module("refinery.llm.provider")
PROMPT = "examples/weather-agent/prompts/system_prompt.txt"
TRACE = "examples/weather-agent/trace.json"
EXPECTED = "should say the weather service is unavailable instead of guessing"
ANCHOR = "- Keep answers to one or two friendly sentences.\n"
FIRST_RULE = "- If get_weather fails, say the weather service is unavailable; never guess.\n"
SECOND_RULE = "- When a tool returns an error, tell the user and offer to try again later.\n"
DIAGNOSIS = {
    "failure_type": "instruction_gap", "root_cause": "No rule for a failed weather lookup.",
    "confidence": "high", "confidence_reason": "The tool failed and the answer guessed.",
    "trace_summary": "get_weather failed; the agent said it is sunny.", "gap": "It guessed.",
    "executive_summary": "The assistant made up the weather when its weather service failed.",
    "affected_component": PROMPT,
    "evidence": [{"run_id": "01a2167b-5f67-7199-a927-c4cb75c6398c",
                  "quote": "It is sunny in Paris."}],
}  # fmt: skip


def _hypotheses(rule: str, title: str) -> dict[str, Any]:
    return {"hypotheses": [{
        "rank": 1, "title": title, "strategy": "add_rule", "rationale": "The prompt lacks it.",
        "failure_type": "instruction_gap", "risk": "low", "expected_effect": "No more guessing.",
        "edits": [{"file": PROMPT, "search": ANCHOR, "replace": ANCHOR + rule}],
    }]}  # fmt: skip


@pytest.fixture
def scripted_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeProvider]]:
    """Provider ``scripted`` (registered as a plugin would be): each analysis answers anew."""
    answers = [
        [DIAGNOSIS, _hypotheses(FIRST_RULE, "Say when the weather service fails")],
        [DIAGNOSIS, _hypotheses(SECOND_RULE, "Report tool errors")],
    ]
    made: list[FakeProvider] = []

    def factory(settings: Settings) -> FakeProvider:
        made.append(FakeProvider(replies=answers[len(made)], model="scripted-1"))
        return made[-1]

    registry.provider_names()  # built-ins first, so the fixture's entry is not overwritten
    monkeypatch.setitem(registry._FACTORIES, "scripted", factory)
    yield made


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    return result


def _analyze() -> dict[str, Any]:
    result = _cli(
        "analyze", TRACE, "--project", "weather", "--expected", EXPECTED,
        "--prompt-files", PROMPT, "--provider", "scripted", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_apply_writes_the_fix_the_first_analysis_showed(
    agent_repo: Path, scripted_llm: list[FakeProvider]
) -> None:
    prompt = agent_repo / PROMPT
    original = prompt.read_text()
    first = _analyze()
    shown = _cli("show", first["analysis_id"][:7])
    assert shown.exit_code == 0, shown.output
    assert f"refinery apply {first['analysis_id']} 1" in shown.stdout.splitlines()[-1]
    assert json.loads(_cli("show", first["analysis_id"], "--json").stdout) == first
    second = _analyze()
    assert second["hypotheses"][0]["edits"][0]["replace"].endswith(SECOND_RULE)
    assert len(scripted_llm) == 2  # show and apply never called the provider again

    applied = _cli("apply", first["analysis_id"][:8], "1", "--json")
    assert applied.exit_code == 0, applied.output
    change = json.loads(applied.stdout)["change"]
    assert prompt.read_text() == original.replace(ANCHOR, ANCHOR + FIRST_RULE)
    assert change["analysis_id"] == first["analysis_id"]
    assert len(scripted_llm) == 2

    history = json.loads(_cli("history", "--json").stdout)["entries"]
    assert [(e["kind"], e["id"]) for e in history] == [
        ("change", change["id"]), ("analysis", second["analysis_id"]),
        ("analysis", first["analysis_id"]),
    ]  # fmt: skip
    assert history[2]["changes"] == [change["id"]] and history[1]["changes"] == []

    undone = _cli("undo")
    assert undone.exit_code == 0, undone.output
    assert prompt.read_text() == original
    listed = _cli("history", "--project", "weather")
    assert f"change {change['id']}" in listed.stdout and "undone by" in listed.stdout
    assert f"→ applied as {change['id']}" in listed.stdout


def test_show_defaults_to_the_latest_analysis_and_knows_no_other_project(
    agent_repo: Path, scripted_llm: list[FakeProvider]
) -> None:
    _analyze()
    latest = _analyze()
    assert json.loads(_cli("show", "--json").stdout)["analysis_id"] == latest["analysis_id"]
    result = _cli("show", "--project", "other")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: no saved analysis for project other: run refinery analyze first"
    )


def test_a_fresh_clone_has_no_history_and_says_what_to_run(agent_repo: Path) -> None:
    listed = _cli("history")
    assert (listed.exit_code, listed.stdout) == (0, "Nothing yet: run refinery analyze first.\n")
    shown = _cli("show", "an_ffff")
    assert shown.exit_code == 2
    assert shown.stderr == "error: no analysis saved here yet: run refinery analyze first\n"
    assert not (agent_repo / ".refinery").exists()


def test_unknown_ids_bad_targets_and_bad_dates_are_one_line_usage_errors(
    agent_repo: Path, scripted_llm: list[FakeProvider]
) -> None:
    first = _analyze()
    unknown = _cli("show", "an_ffff")
    assert (unknown.exit_code, unknown.stderr) == (
        2, "error: no saved analysis an_ffff: see the ids with refinery history\n"
    )  # fmt: skip
    missing = _cli("apply", first["analysis_id"], "7")
    assert (missing.exit_code, missing.stderr) == (
        2,
        "error: there is no fix 7: choose 1-1\n",
    )
    bad = _cli("apply", "an_1", "x")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: refinery apply an_1 x: expected [ANALYSIS_ID] [N]")
    when = _cli("history", "--since", "last tuesday")
    assert (when.exit_code, when.stderr) == (
        2, "error: --since last tuesday: not a date, time or age: use 2026-11-01, "
        "2026-11-01T14:00 or 7d\n",
    )  # fmt: skip
    recent = json.loads(_cli("history", "--since", "10m", "--json").stdout)["entries"]
    assert [e["id"] for e in recent] == [first["analysis_id"]]
    assert json.loads(_cli("history", "--since", "2999-01-01", "--json").stdout)["entries"] == []
    other = _cli("history", "--project", "other", "--since", "1d")
    assert (other.exit_code, other.stdout) == (
        0, "Nothing matches --project other --since 1d: refinery history alone lists everything.\n"
    )  # fmt: skip
