"""``FILE#N`` mistakes as a user makes them: each is one line naming the mistake and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from refinery.cli import app
from sample_paths import EXAMPLES

TRACE = "examples/weather-agent/trace.json"


def _tokens(ref: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["token-analysis", ref])
    return result.exit_code, result.stdout, result.stderr


def test_a_selector_that_is_not_a_number_is_named_not_taken_for_a_missing_file(
    git_repo: Path,
) -> None:
    shutil.copytree(EXAMPLES, git_repo / "examples")
    assert _tokens(f"{TRACE}#first") == (
        2, "", f"error: cannot read {TRACE}#first: #first is not a trace number: pick one with "
        f"{TRACE}#N, counting from 0\n",
    )  # fmt: skip


def test_a_number_past_the_last_trace_counts_in_words(git_repo: Path) -> None:
    shutil.copytree(EXAMPLES, git_repo / "examples")
    assert _tokens(f"{TRACE}#3") == (
        2, "", f"error: cannot read {TRACE}#3: the file holds 1 trace: pick one with {TRACE}#N "
        "(0-0)\n",
    )  # fmt: skip
    assert _tokens(f"{TRACE}#0")[0] == 0
