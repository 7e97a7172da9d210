"""The diff analyze shows reads as ``git diff`` would: a file without a final newline is marked.

Without the marker, appending to such a file showed its last line removed and added back unchanged,
which reads as an edit of a line the fix does not touch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from refinery.cli import app
from sample_paths import EXAMPLES

PROMPT = "examples/weather-agent/prompts/system_prompt.txt"
LAST = "- Do not give travel, health or safety advice beyond the weather itself."


def test_a_prompt_without_a_final_newline_is_marked_as_git_marks_it(git_repo: Path) -> None:
    shutil.copytree(EXAMPLES, git_repo / "examples")
    prompt = git_repo / PROMPT
    prompt.write_text(prompt.read_text().rstrip("\n"))
    subprocess.run(["git", "add", "-A"], cwd=git_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "agent"], cwd=git_repo, check=True)
    result = CliRunner().invoke(app, [
        "analyze", "examples/weather-agent/trace.json", "--project", "weather",
        "--expected", "should say the weather service is unavailable instead of guessing",
        "--prompt-files", PROMPT, "--json",
    ])  # fmt: skip
    data = json.loads(result.stdout)
    first = next(h for h in data["hypotheses"] if h["edits"][0]["file"] == PROMPT)
    lines = data["diffs"][str(first["rank"])].splitlines()
    at = lines.index(f"-{LAST}")
    assert lines[at + 1 : at + 3] == ["\\ No newline at end of file", f"+{LAST}"]
    assert lines[-1] == "\\ No newline at end of file"  # the fix keeps the file unterminated
