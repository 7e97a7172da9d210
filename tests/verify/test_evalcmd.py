"""The user's eval command runs in a temporary worktree, before and with a fix; their tree is
never touched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from refinery.models.diagnosis import Edit
from refinery.verify.evalcmd import counts, run_eval_command

CHECK = (
    f"{sys.executable} -c \"import sys; t = open('prompt.txt').read(); "
    "ok = 'unavailable' in t; print('1 passed' if ok else '1 failed'); sys.exit(0 if ok else 1)\""
)


@pytest.fixture
def repo(git_repo: Path) -> Path:
    (git_repo / "prompt.txt").write_text("Never guess.\n")
    subprocess.run(["git", "add", "-A"], cwd=git_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "agent"], cwd=git_repo, check=True)
    return git_repo


def test_command_runs_before_and_with_the_fix_in_a_worktree(repo: Path) -> None:
    (repo / "prompt.txt").write_text("Never guess. (uncommitted work)\n")
    fix = Edit(
        file="prompt.txt", search="Never guess.", replace="Never guess; say it is unavailable."
    )

    before = run_eval_command(repo, CHECK)
    after = run_eval_command(repo, CHECK, edits=[fix])

    assert (before.exit_code, before.passed, before.failed) == (1, 0, 1)
    assert (after.exit_code, after.passed, after.failed) == (0, 1, 0)
    assert (repo / "prompt.txt").read_text() == "Never guess. (uncommitted work)\n"
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=repo, capture_output=True, text=True
    )
    assert len(worktrees.stdout.splitlines()) == 1


def test_command_past_its_timeout_is_stopped(repo: Path) -> None:
    run = run_eval_command(repo, f"{sys.executable} -c 'import time; time.sleep(30)'", timeout=0.5)
    assert run.exit_code is None and run.error == "timed out after 0.5 s"
    assert run.seconds < 5


def test_a_fix_that_does_not_apply_to_the_commit_says_so(repo: Path) -> None:
    fix = Edit(file="prompt.txt", search="Always be kind.", replace="x")
    run = run_eval_command(repo, CHECK, edits=[fix])
    assert run.exit_code is None and run.error is not None
    assert run.error.startswith("the fix does not apply to the committed prompt.txt")


@pytest.mark.parametrize(
    ("output", "expected"),
    [("==== 3 passed, 1 failed in 0.2s ====", (3, 1)),
     ("Tests:       2 failed, 5 passed, 7 total", (5, 2)),
     ("--- PASS: TestA\n--- FAIL: TestB\nFAIL\tpkg", (1, 2)),
     ("all good", (None, None))],
)  # fmt: skip
def test_pass_and_fail_counts_are_read_from_common_runners(
    output: str, expected: tuple[int | None, int | None]
) -> None:
    assert counts(output) == expected
