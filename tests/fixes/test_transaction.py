"""Faults injected before each write step of an apply or undo: the repository ends as it was, or
with the complete change, undoable; the next command says which.

A forked process applies a fix and is SIGKILLed (a real kill: no handler, no cleanup runs) just
before one write step: renaming the journal into place, renaming each file, moving HEAD, updating
the index, writing the change record, removing the journal. The traps patch only the operating
system calls (``os.replace``, ``os.unlink``, ``subprocess.Popen``), never Refinery's own code.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from refinery.cli import app
from refinery.config import Settings
from refinery.errors import AlreadyApplied
from refinery.fixes import apply_change, undo
from refinery.models.diagnosis import Edit, FailureType, Hypothesis, Level
from refinery.store.changes import list_changes

RULE = ("prompts/system.txt", "Be polite.\n", "Be polite.\nAlways offer a refund.\n")
CASE = ("evals.json", '{"cases": []}', '{"cases": ["refund"]}')
ALLOWED = ("prompts/system.txt", "agent.py", "evals.json")

Trap = Callable[[str, Path], bool]


def make_hypothesis(*edits: tuple[str, str, str]) -> Hypothesis:
    return Hypothesis(
        rank=1,
        title="Add refund rule",
        strategy="add_rule",
        rationale="the prompt lacks the rule",
        failure_type=FailureType.INSTRUCTION_GAP,
        risk=Level.LOW,
        expected_effect="the agent offers a refund",
        edits=tuple(Edit(file=f, search=s, replace=r) for f, s, r in edits),
    )


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout


def _replacing(suffix: str) -> Callable[[Path], Trap]:
    return lambda root: lambda kind, path: kind == "replace" and str(path).endswith(suffix)


def _git_step(subcommand: str) -> Callable[[Path], Trap]:
    return lambda root: lambda kind, path: kind == f"git {subcommand}"


def _unlinking(name: str) -> Callable[[Path], Trap]:
    return lambda root: lambda kind, path: kind == "unlink" and Path(path).name == name


STEPS: dict[str, tuple[Callable[[Path], Trap], str]] = {
    "journal": (_replacing("journal/journal.json"), "nothing"),
    "first file": (_replacing("prompts/system.txt"), "rolled back"),
    "second file": (_replacing("/evals.json"), "rolled back"),
    "commit": (_git_step("update-ref"), "rolled back"),
    "index": (_git_step("update-index"), "completed"),
    "record": (lambda root: lambda kind, path: kind == "replace" and "/changes/" in str(path),
               "completed"),
    "journal removal": (_unlinking("journal.json"), "completed"),
}  # fmt: skip


def _arm(trap: Trap) -> None:
    """In the child: SIGKILL the process just before the trapped system call."""
    real_replace, real_unlink, real_popen = os.replace, os.unlink, subprocess.Popen

    def replace(src: Any, dst: Any, **kw: Any) -> None:
        if trap("replace", Path(dst)):
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst, **kw)

    def unlink(path: Any, **kw: Any) -> None:
        if trap("unlink", Path(path)):
            os.kill(os.getpid(), signal.SIGKILL)
        real_unlink(path, **kw)

    class Popen(real_popen):  # type: ignore[misc,valid-type]
        def __init__(self, args: Any, *rest: Any, **kw: Any) -> None:
            plumbing = "GIT_INDEX_FILE" in (kw.get("env") or {})  # the commit's own index
            if len(args) > 3 and not plumbing and trap(f"git {args[3]}", Path()):
                os.kill(os.getpid(), signal.SIGKILL)
            super().__init__(args, *rest, **kw)

    os.replace, os.unlink = replace, unlink  # type: ignore[assignment]
    subprocess.Popen = Popen  # type: ignore[misc]


def _child(root: Path, trap_for: Callable[[Path], Trap], action: str) -> None:
    _arm(trap_for(root))
    settings = Settings(repo_root=root)
    if action == "undo":
        undo(None, settings)
    else:
        _apply(make_hypothesis(RULE, CASE), settings)


def _killed(root: Path, trap_for: Callable[[Path], Trap], action: str = "apply") -> int | None:
    process = multiprocessing.get_context("fork").Process(
        target=_child, args=(root, trap_for, action)
    )
    process.start()
    process.join(30)
    return process.exitcode


def _apply(h: Hypothesis, settings: Settings) -> Any:
    return apply_change(
        h, analysis_id="an-7", expected="offer a refund", settings=settings, allowed_files=ALLOWED
    )


def _snapshot(root: Path) -> dict[str, Any]:
    return {
        "head": _git(root, "rev-parse", "HEAD").strip(),
        "prompt": (root / "prompts/system.txt").read_bytes(),
        "evals": (root / "evals.json").read_bytes(),
    }


def _untracked_and_changed(root: Path) -> list[str]:
    """Every path git would report, beside Refinery's own ignore file."""
    out = _git(root, "status", "--porcelain", "--untracked-files=all")
    return [line for line in out.splitlines() if line != "?? .refinery/.gitignore"]


def _recover_through_the_cli() -> str:
    result = CliRunner().invoke(app, ["history"])
    assert result.exit_code == 0, result.output
    return result.stderr


@pytest.mark.parametrize("step", list(STEPS))
def test_a_kill_before_each_write_step_leaves_before_or_complete(
    repo: Path, settings: Settings, step: str
) -> None:
    trap, expected = STEPS[step]
    before = _snapshot(repo)
    assert _killed(repo, trap) == -signal.SIGKILL
    note = _recover_through_the_cli()
    if expected in ("nothing", "rolled back"):
        if expected == "nothing":
            assert note == ""
        else:
            assert note == (
                "note: found an interrupted apply of fix #1 (Add refund rule) and rolled it "
                "back: every file is as it was before\n"
            )
        assert _snapshot(repo) == before
        assert list_changes(settings.state_dir) == []
    else:
        change = list_changes(settings.state_dir)[0]
        assert note == (
            "note: found an interrupted apply of fix #1 (Add refund rule) and completed it: "
            f"commit {change.commit[:12]}; undo it with `refinery undo {change.id}`\n"
        )
        assert _git(repo, "rev-parse", "HEAD").strip() == change.commit
        assert b"Always offer a refund." in (repo / "prompts/system.txt").read_bytes()
        assert (repo / "evals.json").read_bytes() == b'{"cases": ["refund"]}\n'
        assert _untracked_and_changed(repo) == []
        undo(None, settings)
        assert {k: v for k, v in _snapshot(repo).items() if k != "head"} == {
            k: v for k, v in before.items() if k != "head"
        }
    assert _untracked_and_changed(repo) == []
    assert _recover_through_the_cli() == ""  # settled once, for good


@pytest.mark.parametrize(("step", "outcome"), [("update-ref", "rolled back"), ("record", "done")])
def test_a_kill_during_undo_leaves_the_change_or_its_complete_reversal(
    repo: Path, settings: Settings, step: str, outcome: str
) -> None:
    original = _snapshot(repo)
    change = _apply(make_hypothesis(RULE, CASE), settings)
    applied = _snapshot(repo)
    trap = _git_step("update-ref") if step == "update-ref" else _replacing(f"{change.id}.json")
    assert _killed(repo, trap, "undo") == -signal.SIGKILL
    note = _recover_through_the_cli()
    if outcome == "rolled back":
        assert note.startswith(f"note: found an interrupted undo of change {change.id} and rolled")
        assert _snapshot(repo) == applied
        undo(None, settings)  # still undoable
    else:
        assert f"undo of change {change.id} and completed it: revert commit" in note
    assert {k: v for k, v in _snapshot(repo).items() if k != "head"} == {
        k: v for k, v in original.items() if k != "head"
    }
    assert list_changes(settings.state_dir)[0].undone_by == _git(repo, "rev-parse", "HEAD").strip()
    assert _untracked_and_changed(repo) == []


def test_a_refinery_commit_whose_record_was_lost_can_still_be_undone(
    repo: Path, settings: Settings
) -> None:
    original = _snapshot(repo)
    change = _apply(make_hypothesis(RULE, CASE), settings)
    for path in sorted((settings.state_dir / "changes").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    undone = undo(None, settings)
    assert undone.id == change.id and undone.commit == change.commit
    assert undone.hypothesis_title == "Add refund rule" and undone.analysis_id == "an-7"
    assert {k: v for k, v in _snapshot(repo).items() if k != "head"} == {
        k: v for k, v in original.items() if k != "head"
    }


def _apply_in_child(root: str) -> None:
    try:
        _apply(make_hypothesis(RULE), Settings(repo_root=Path(root)))
    except AlreadyApplied:
        os._exit(10)
    os._exit(0)


def test_three_concurrent_applies_of_one_fix_write_it_once(repo: Path, settings: Settings) -> None:
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_apply_in_child, args=(str(repo),)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert sorted(p.exitcode for p in processes) == [0, 10, 10]
    assert (repo / "prompts/system.txt").read_text().count("Always offer a refund.") == 1
    assert _git(repo, "log", "--format=%s").splitlines() == ["Refinery: Add refund rule", "initial"]
    assert _untracked_and_changed(repo) == []


def test_applying_twice_writes_nothing_the_second_time(repo: Path, settings: Settings) -> None:
    _apply(make_hypothesis(RULE), settings)
    after = _snapshot(repo)
    with pytest.raises(AlreadyApplied) as already:
        _apply(make_hypothesis(RULE), settings)
    assert str(already.value) == (
        "fix 1 (Add refund rule) is already applied: its text is already in its files, "
        "nothing was written"
    )
    assert already.value.exit_code == 0
    assert _snapshot(repo) == after and len(list_changes(settings.state_dir)) == 1


def test_the_same_rule_anchored_elsewhere_later_counts_as_applied(
    repo: Path, settings: Settings
) -> None:
    _apply(make_hypothesis(RULE), settings)
    moved = ("prompts/system.txt", "Answer briefly.\n", "Answer briefly.\nAlways offer a refund.\n")
    with pytest.raises(AlreadyApplied):
        _apply(make_hypothesis(moved), settings)
    assert (repo / "prompts/system.txt").read_text().count("Always offer a refund.") == 1
