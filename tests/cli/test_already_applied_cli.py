"""A fix already in the project's files, as the CLI reports it: a success, never advice to apply it.

The offline analyser proposes the same fixes for the same trace, so applying fix 1 and analysing
again leaves fix 1 already present: the footer must point at a fix that would change something,
and ``refinery apply --json`` must still print one JSON object for a script.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from refinery.cli import app

TRACE = "examples/weather-agent/trace.json"
EXPECTED = "should say the weather service is unavailable instead of guessing"
FILES = [
    "--prompt-files", "examples/weather-agent/prompts/system_prompt.txt",
    "--eval-files", "examples/weather-agent/evals/cases.json",
    "--config-files", "examples/weather-agent/config.yaml",
]  # fmt: skip


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _analyze(*extra: str) -> Any:
    return _cli("analyze", TRACE, "--project", "weather", "--expected", EXPECTED, *FILES, *extra)


def test_the_footer_never_suggests_applying_a_fix_already_in_the_files(agent_repo: Path) -> None:
    first = json.loads(_analyze("--json").stdout)
    assert _cli("apply", first["analysis_id"], "1").exit_code == 0
    again = _analyze()
    assert again.exit_code == 0, again.output
    second = json.loads(_cli("show", "--json").stdout)["analysis_id"]
    assert again.stdout.splitlines()[-1] == f"To apply fix 2: refinery apply {second} 2"


def test_applying_a_fix_already_present_prints_json_and_exits_0(agent_repo: Path) -> None:
    analysis_id = json.loads(_analyze("--json").stdout)["analysis_id"]
    assert _cli("apply", analysis_id, "1").exit_code == 0
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=agent_repo, capture_output=True, text=True, check=True
    ).stdout
    as_json = _cli("apply", analysis_id[:7], "1", "--json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == {
        "analysis_id": analysis_id, "notes": [], "change": None, "already_applied": 1,
    }  # fmt: skip
    human = _cli("apply", analysis_id, "1")
    assert (human.exit_code, human.stderr) == (0, "")
    assert human.stdout == (
        "Fix 1 (Tell the agent what to do when a tool fails) is already applied: its text is "
        "already in its files, nothing was written.\n"
    )
    assert (
        subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=agent_repo, capture_output=True, text=True, check=True
        ).stdout
        == head
    )


def test_a_fix_without_edits_says_which_files_it_needs(agent_repo: Path) -> None:
    analysed = _cli("analyze", TRACE, "--project", "bare", "--expected", EXPECTED)
    assert analysed.exit_code == 1  # no project files: nothing actionable
    refused = _cli("apply", "1")
    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr == (
        "error: cannot apply fix 1 (Tell the agent what to do when a tool fails): no prompt files "
        "in the project's context: pass --prompt-files\n"
    )
