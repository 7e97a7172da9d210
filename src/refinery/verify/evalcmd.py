"""The user's own eval command, run in a temporary git worktree: once as committed, once per fix.

The user's working tree is never touched: ``git worktree add --detach`` checks the current commit
out into a temporary folder, the fix's edits are written there, the command runs with a timeout
(its whole process group is killed when it expires), and the worktree is removed. Pass and fail
counts are read from the output when it says them (pytest, jest/vitest, go test, or a plain
``N passed, N failed`` line).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..fixes.edits import edit_text
from ..models.diagnosis import Edit
from ..models.verification import EvalCommandRun

DEFAULT_TIMEOUT_SECONDS = 600.0
_PASSED = re.compile(r"(\d+) (?:passed|passing)\b", re.I)
_FAILED = re.compile(r"(\d+) (?:failed|failing)\b", re.I)
_GO_OK = re.compile(r"^(?:--- PASS|ok\s)", re.M)
_GO_FAIL = re.compile(r"^(?:--- FAIL|FAIL\s)", re.M)


def run_eval_command(
    repo_root: Path,
    command: str,
    *,
    edits: Sequence[Edit] = (),
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> EvalCommandRun:
    """Run ``command`` in a fresh worktree of HEAD, with ``edits`` written there first."""
    with tempfile.TemporaryDirectory(prefix="refinery-eval-") as folder:
        tree = Path(folder) / "tree"
        _git(repo_root, "worktree", "add", "--detach", "--quiet", str(tree), "HEAD")
        try:
            problem = _write(tree, edits)
            if problem:
                return EvalCommandRun(exit_code=None, error=problem)
            return _run(tree, command, timeout)
        finally:
            _git(repo_root, "worktree", "remove", "--force", str(tree), check=False)


def _git(root: Path, *args: str, check: bool = True) -> None:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise ConfigError(
            f"--eval-command needs a git repository with a commit ({done.stderr.strip()[:120]})",
            "run it inside the agent's repository",
        )


def _write(tree: Path, edits: Sequence[Edit]) -> str | None:
    by_file: dict[str, list[Edit]] = {}
    for edit in edits:
        by_file.setdefault(edit.file, []).append(edit)
    for name, file_edits in by_file.items():
        target = tree / name
        before = target.read_text("utf-8") if target.is_file() else None
        result = edit_text(name, before, file_edits)
        if result.problems:
            return f"the fix does not apply to the committed {name}: {result.problems[0]}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(result.text, "utf-8")
    return None


def _run(tree: Path, command: str, timeout: float) -> EvalCommandRun:
    started = time.perf_counter()
    try:
        process = subprocess.Popen(
            command, shell=True, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        return EvalCommandRun(exit_code=None, error=f"cannot start the command: {exc}")
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return EvalCommandRun(
            exit_code=None, seconds=round(time.perf_counter() - started, 2),
            error=f"timed out after {timeout:g} s",
        )  # fmt: skip
    passed, failed = counts(output or "")
    return EvalCommandRun(
        exit_code=process.returncode, passed=passed, failed=failed,
        seconds=round(time.perf_counter() - started, 2),
    )  # fmt: skip


def counts(output: str) -> tuple[int | None, int | None]:
    """Pass and fail counts as the output states them (the last summary wins), or None."""
    passed = [int(n) for n in _PASSED.findall(output)]
    failed = [int(n) for n in _FAILED.findall(output)]
    if passed or failed:
        return (passed[-1] if passed else 0), (failed[-1] if failed else 0)
    go_ok, go_fail = len(_GO_OK.findall(output)), len(_GO_FAIL.findall(output))
    if go_ok or go_fail:
        return go_ok, go_fail
    return None, None
