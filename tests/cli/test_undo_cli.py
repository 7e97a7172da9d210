from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from refinery.config import Settings
from refinery.fixes import apply_change
from refinery.models.diagnosis import Edit, FailureType, Hypothesis, Level


def _refinery(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = "from refinery.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd
    )


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout


def _applied(root: Path) -> str:
    (root / "prompt.txt").write_text("Be polite.\n")
    _git(root, "add", "prompt.txt")
    _git(root, "commit", "-q", "-m", "initial")
    hypothesis = Hypothesis(
        rank=2,
        title="Add refund rule",
        strategy="add_rule",
        rationale="r",
        failure_type=FailureType.INSTRUCTION_GAP,
        risk=Level.LOW,
        expected_effect="e",
        edits=(
            Edit(file="prompt.txt", search="Be polite.\n", replace="Be polite.\nOffer refunds.\n"),
        ),
    )
    change = apply_change(
        hypothesis,
        analysis_id="an-1",
        expected="refund",
        settings=Settings(repo_root=root),
        allowed_files=["prompt.txt"],
    )
    return change.id


def test_undo_reverts_then_a_second_undo_exits_1_with_the_reason(git_repo: Path) -> None:
    change_id = _applied(git_repo)
    first = _refinery("undo", "--json", cwd=git_repo)
    assert first.returncode == 0, first.stderr
    undone = json.loads(first.stdout)
    assert undone["id"] == change_id
    assert undone["undone_by"] == _git(git_repo, "rev-parse", "HEAD").strip()
    assert (git_repo / "prompt.txt").read_text() == "Be polite.\n"
    second = _refinery("undo", cwd=git_repo)
    assert second.returncode == 1
    assert second.stderr.splitlines() == [
        f"error: cannot undo change {change_id}: "
        f"already undone by commit {undone['undone_by'][:12]}"
    ]


def test_undo_human_output_and_history(git_repo: Path) -> None:
    change_id = _applied(git_repo)
    listed = _refinery("history", cwd=git_repo)
    assert listed.returncode == 0, listed.stderr
    assert f"change {change_id}  fix 2 of an-1: Add refund rule  [prompt.txt]" in listed.stdout
    assert f"(refinery undo {change_id})" in listed.stdout
    result = _refinery("undo", change_id, cwd=git_repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        f"Undid change {change_id} (Add refund rule).",
        "Restored: prompt.txt",
    ]
    history = json.loads(_refinery("history", "--json", cwd=git_repo).stdout)
    assert [(e["kind"], e["undone_by"] is not None) for e in history["entries"]] == [
        ("change", True)
    ]


def test_undo_outside_a_repository_says_how_to_start_one(tmp_path: Path) -> None:
    result = _refinery("undo", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: {tmp_path.resolve()} is not a git repository: "
        "run `git init` and commit your files first, so every change can be undone"
    ]
