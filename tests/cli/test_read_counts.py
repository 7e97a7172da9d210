"""What the reader found is shown beside the trace: tool calls, tool results, errors, agents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from refinery.cli import app
from sample_paths import DATA, FIXTURES

runner = CliRunner()
SHAPES = DATA / "frameworks"


def test_token_analysis_shows_what_was_read() -> None:
    result = runner.invoke(app, ["token-analysis", str(SHAPES / "smolagents_weather_steps.json")])
    assert result.exit_code == 0, result.output
    assert "read 3 tool calls, 3 tool results, 2 errors" in result.stdout


def test_token_analysis_json_counts_agents_of_a_multi_agent_history() -> None:
    path = FIXTURES / "who-and-when" / "Hand-Crafted" / "1.json"
    result = runner.invoke(app, ["token-analysis", str(path), "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)["trace"]["counts"]
    assert counts["tool_calls"] == counts["tool_results"] == counts["errors"] == 0
    assert "WebSurfer" in counts["agents"]


def test_analyze_header_shows_what_was_read(git_repo: Path) -> None:
    trace = git_repo / "history.json"
    shutil.copy(SHAPES / "pydantic_ai_refund_history.json", trace)
    result = runner.invoke(
        app,
        ["analyze", str(trace), "--project", "shop", "--expected", "refund only the duplicate"],
    )
    assert "pydantic-ai, 10 runs" in result.stdout, result.output
    assert "read 3 tool calls, 3 tool results, 1 error" in result.stdout
