"""``refinery analyze`` through the CLI: the --json contract, human output, apply and exits."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from refinery.cli import app
from sample_paths import ROOT

EXPECTED = "should say the weather service is unavailable instead of guessing"
FILES = [
    "--prompt-files", "examples/weather-agent/prompts/system_prompt.txt",
    "--eval-files", "examples/weather-agent/evals/cases.json",
    "--config-files", "examples/weather-agent/config.yaml",
]  # fmt: skip
TRACE = "examples/weather-agent/trace.json"


def _analyze(*extra: str) -> Any:
    return CliRunner().invoke(
        app, ["analyze", TRACE, "--project", "weather", "--expected", EXPECTED, *extra]
    )


def test_json_output_follows_the_spec_contract(agent_repo: Path) -> None:
    result = _analyze(*FILES, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"analysis_id", "project", "trace", "context", "analyser", "findings", "diagnosis",
            "hypotheses", "applied", "usage"} <= set(data)  # fmt: skip
    assert data["trace"] == {
        "id": "01a2167b-5f67-7199-a927-c4cb75c6398c", "source": "file",
        "format": "langsmith-runs", "runs": 4,
        "counts": {"tool_calls": 1, "tool_results": 1, "errors": 1, "agents": []},
    }  # fmt: skip
    assert data["context"]["prompt_files"] == ["examples/weather-agent/prompts/system_prompt.txt"]
    assert data["analyser"] == {
        "provider": "offline",
        "model": None,
        "prompt_version": None,
        "key_source": None,
    }
    assert data["applied"] is None
    assert data["usage"] == {
        "llm_calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": None,
        "thinking_tokens": 0,
    }
    diagnosis = data["diagnosis"]
    assert diagnosis["confidence"] in {"high", "medium", "low"}
    assert all(e["verified"] for e in diagnosis["evidence"])
    assert {f["kind"] for f in data["findings"]} >= {"tool_error"}
    assert 3 <= len(data["hypotheses"]) <= 5
    for rank, hypothesis in enumerate(data["hypotheses"], start=1):
        assert hypothesis["rank"] == rank and hypothesis["risk"] in {"low", "medium", "high"}
        assert set(hypothesis["edits"][0]) == {"file", "search", "replace"}
        assert hypothesis["valid"] is True and hypothesis["problems"] == []


def test_context_is_remembered_for_the_next_run(agent_repo: Path) -> None:
    assert _analyze(*FILES, "--json").exit_code == 0
    again = json.loads(_analyze("--json").stdout)
    assert again["context"]["eval_files"] == ["examples/weather-agent/evals/cases.json"]


def test_human_output_explains_in_plain_language(agent_repo: Path) -> None:
    result = _analyze(*FILES)
    assert result.exit_code == 0
    for text in ("offline analyser (rule-based, no API key)", "Diagnosis", "Proposed fixes",
                 "Nothing was written (dry run)", "+++ b/examples/weather-agent/"):  # fmt: skip
        assert text in result.stdout


def test_apply_writes_one_commit_and_undo_restores_the_bytes(agent_repo: Path) -> None:
    prompt = agent_repo / "examples/weather-agent/prompts/system_prompt.txt"
    before = prompt.read_bytes()
    result = _analyze(*FILES, "--apply", "1", "--json")
    assert result.exit_code == 0, result.output
    applied = json.loads(result.stdout)["applied"]
    assert applied["hypothesis"] == 1 and prompt.read_bytes() != before
    head = subprocess.run(["git", "log", "-1", "--format=%H%n%B"], cwd=agent_repo,
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert head.startswith(applied["commit"]) and EXPECTED in head
    assert CliRunner().invoke(app, ["undo", applied["change_id"]]).exit_code == 0
    assert prompt.read_bytes() == before


def test_nothing_actionable_without_project_files_exits_1(agent_repo: Path) -> None:
    result = _analyze("--json")
    assert result.exit_code == 1
    assert not any(h["valid"] for h in json.loads(result.stdout)["hypotheses"])


def test_unknown_hypothesis_number_is_a_usage_error(agent_repo: Path) -> None:
    result = _analyze(*FILES, "--apply", "9")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: there is no fix 9: choose 1-5 or use --apply alone")


def test_readme_first_command_runs_on_the_bundled_example(agent_repo: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash\n")[1].split("```")[0]
    command = first_block.split("&& refinery ", 1)[1].strip()
    result = CliRunner().invoke(app, shlex.split(command))
    assert result.exit_code == 0, result.output
    assert "Diagnosis" in result.stdout and "Fix 1" in result.stdout
    second_block = readme.split("```bash\n")[2].split("```")[0]
    assert second_block.strip().endswith("python -m pytest")
    assert second_block.strip() in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_extraction_says_how_to_make_extracted_files_fixable(agent_repo: Path) -> None:
    result = _analyze("--extract-from-trace", "--json")
    data = json.loads(result.stdout)
    assert data["context"]["prompt_files"][0].startswith(".refinery/projects/weather/prompts/")
    assert any(
        "git add .refinery/projects/weather && git commit" in warning
        for warning in data["warnings"]
    )
    subprocess.run(["git", "add", ".refinery/projects"], cwd=agent_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "extracted"], cwd=agent_repo, check=True)
    again = json.loads(_analyze("--json").stdout)
    assert any(h["valid"] for h in again["hypotheses"])


def test_the_step_where_it_went_wrong_is_named_and_quoted(agent_repo: Path) -> None:
    data = json.loads(_analyze(*FILES, "--json").stdout)
    step = data["diagnosis"]["divergence"]
    # The tool failed (position 2); the model's answer after it (position 3) is where it diverged.
    assert step["run_id"] == "01a2167b-5f75-7242-bd6e-bc8a221cc3e8" and step["position"] == 3
    assert "get_weather failed" in step["reason"]
    quoted = [e for e in data["diagnosis"]["evidence"] if e["run_id"] == step["run_id"]]
    assert quoted and all(e["verified"] for e in quoted)
    human = _analyze(*FILES).output
    # Counted from 1 like "What happened", whose step 4 is the model's answer.
    assert "step 4 of 4 in execution order" in " ".join(human.split())
    assert '4. The model (GenericFakeChatModel) answered "It is sunny in Paris."' in human


@pytest.mark.parametrize("provider", [(), ("--provider", "offline")])
def test_batch_without_an_llm_says_it_needs_one(
    agent_repo: Path, provider: tuple[str, ...]
) -> None:
    """Not "use --provider offline", which the user may just have passed."""
    result = _analyze("--batch", *provider)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: --batch sends the analysis to an LLM's batch API, and no LLM provider is chosen: "
        "set OPENAI_API_KEY or ANTHROPIC_API_KEY, or drop --batch\n"
    )
