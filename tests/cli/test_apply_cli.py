"""``analyze --apply`` through the CLI: what it refuses, what it skips, what a fault leaves behind.

Each test checks the exit code, the exact line on stderr, the repository (HEAD, status) and the
bytes of the files. Faults are injected through the operating system (``os.replace``,
``subprocess.Popen``, a lock file), never by patching Refinery's own functions.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from refinery.cli import app, main
from sample_paths import EXAMPLES

EXPECTED = "should say the weather service is unavailable instead of guessing"
PROMPT = "examples/weather-agent/prompts/system_prompt.txt"
FILES = [
    "--prompt-files", PROMPT,
    "--eval-files", "examples/weather-agent/evals/cases.json",
    "--config-files", "examples/weather-agent/config.yaml",
]  # fmt: skip
TRACE = "examples/weather-agent/trace.json"
FIX_1 = "fix 1 (Tell the agent what to do when a tool fails)"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout


def _analyze(*extra: str) -> Any:
    return CliRunner().invoke(
        app, ["analyze", TRACE, "--project", "weather", "--expected", EXPECTED, *FILES, *extra]
    )


def _main(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    """Run the console script in-process: ``--apply`` alone is only understood there."""
    args = ["refinery", "analyze", TRACE, "--project", "weather", "--expected", EXPECTED]
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", [*args, *FILES, *extra])
        with pytest.raises(SystemExit) as exited:
            main()
    out = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out.out, out.err


def _state(root: Path) -> tuple[str, bytes, str]:
    return (
        _git(root, "rev-parse", "HEAD"),
        (root / PROMPT).read_bytes(),
        _git(root, "status", "--porcelain", "--untracked-files=all", "--", "examples"),
    )


def test_best_fix_blocked_by_uncommitted_changes_is_refused_not_swapped(
    agent_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt = agent_repo / PROMPT
    prompt.write_bytes(prompt.read_bytes() + b"My own unfinished line.\n")
    before = _state(agent_repo)
    code, _, err = _main(capsys, "--apply")
    assert code == 1
    assert [line for line in err.splitlines() if line.startswith("error")] == [
        f"error: {FIX_1}, the best fix, cannot be applied now: {PROMPT}: has uncommitted "
        "changes: commit or stash them, or use --allow-dirty: nothing was written (to apply "
        "another fix instead, use --apply N)"
    ]
    assert _state(agent_repo) == before


def test_applying_the_same_fix_twice_says_so_and_writes_nothing(agent_repo: Path) -> None:
    assert _analyze("--apply", "2").exit_code == 0
    after = _state(agent_repo)
    again = _analyze("--apply", "2", "--json")
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["applied"] is None and data["already_applied"] == 2
    assert 2 in data["already_present"] and data["diffs"]["2"] == ""
    assert _state(agent_repo) == after
    human = _analyze("--apply", "2")
    assert human.exit_code == 0
    assert "Fix 2 is already applied: its text is already in its files. Nothing was written." in (
        " ".join(human.stdout.split())
    )


def test_no_git_identity_exits_2_before_anything_is_written(
    agent_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _git(agent_repo, "config", "--unset", "user.name")
    _git(agent_repo, "config", "--unset", "user.email")
    home = tmp_path_factory.mktemp("home")
    for name, value in {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_COUNT": "1",
                        "GIT_CONFIG_KEY_0": "user.useConfigOnly",
                        "GIT_CONFIG_VALUE_0": "true"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    before = _state(agent_repo)
    code, _, err = _main(capsys, "--apply")
    assert code == 2
    assert err.splitlines() == [
        "error: git does not know who you are, so Refinery cannot commit a fix: set it with: "
        'git config user.name "Your Name" && git config user.email you@example.com '
        "(add --global for every repository)"
    ]
    assert _state(agent_repo) == before
    assert not (agent_repo / ".refinery").exists()


def test_a_held_index_lock_refuses_before_writing(agent_repo: Path) -> None:
    lock = agent_repo / ".git" / "index.lock"
    lock.write_text("")
    before = _state(agent_repo)
    result = _analyze("--apply", "1")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: cannot apply fix 1 (Tell the agent what to do when a tool fails): another git "
        f"process is using the repository ({lock} exists)"
    ]
    assert _state(agent_repo) == before


def _trap_git(monkeypatch: pytest.MonkeyPatch, subcommand: str, action: Any) -> None:
    """Make ``action()`` happen when git ``subcommand`` is about to start on the real index."""
    real = subprocess.Popen

    class Popen(real):  # type: ignore[misc,valid-type]
        def __init__(self, args: Any, *rest: Any, **kw: Any) -> None:
            real_index = "GIT_INDEX_FILE" not in (kw.get("env") or {})
            if len(args) > 3 and args[3] == subcommand and real_index:
                action()
            super().__init__(args, *rest, **kw)

    monkeypatch.setattr(subprocess, "Popen", Popen)


def test_git_that_cannot_start_mid_apply_leaves_nothing_changed(
    agent_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _state(agent_repo)

    def no_fork() -> None:
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    _trap_git(monkeypatch, "update-ref", no_fork)
    result = _analyze("--apply", "1")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: cannot start git (Resource temporarily unavailable): nothing was changed: "
        "every file is as it was"
    ]
    assert _state(agent_repo) == before
    assert not list((agent_repo / ".refinery" / "journal").glob("*"))


def test_an_index_lock_taken_mid_apply_is_reported_and_finished_by_the_next_command(
    agent_repo: Path,
) -> None:
    lock = agent_repo / ".git" / "index.lock"
    with pytest.MonkeyPatch.context() as patch:
        _trap_git(patch, "update-index", lambda: lock.write_text(""))
        result = _analyze("--apply", "1")
    head = _git(agent_repo, "rev-parse", "HEAD").strip()
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: git update-index failed in {agent_repo}: another git process is using the "
        f"repository ({lock} exists); the change is committed as {head[:12]} but not finished: "
        "run any refinery command once the cause is gone and it will finish it"
    ]
    still = CliRunner().invoke(app, ["history"])
    assert still.exit_code == 1
    assert still.stderr.splitlines() == [
        "error: found an interrupted apply of fix #1 (Tell the agent what to do when a tool fails) "
        f"but cannot settle it yet: git update-index failed in {agent_repo}: another git process "
        f"is using the repository ({lock} exists): run the command again once that is resolved; "
        "nothing else was changed"
    ]
    lock.unlink()
    history = CliRunner().invoke(app, ["history"])
    assert history.exit_code == 0
    assert history.stderr.startswith(
        "note: found an interrupted apply of fix #1 (Tell the agent what to do when a tool fails) "
        f"and completed it: commit {head[:12]}"
    )
    assert _git(agent_repo, "status", "--porcelain", "--untracked-files=no") == ""
    assert CliRunner().invoke(app, ["undo"]).exit_code == 0


def test_a_full_disk_while_renaming_leaves_no_file_half_written_nor_temporary_files(
    agent_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _state(agent_repo)
    real = os.replace
    target = str(agent_repo / PROMPT)

    def replace(src: Any, dst: Any, **kw: Any) -> None:
        if str(dst) == target:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst, **kw)

    monkeypatch.setattr(os, "replace", replace)
    result = _analyze("--apply", "1")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: cannot write {target}: No space left on device: nothing was changed: "
        "every file is as it was"
    ]
    assert _state(agent_repo) == before
    leftovers = _git(agent_repo, "status", "--porcelain", "--untracked-files=all", "--ignored")
    assert [line for line in leftovers.splitlines() if ".refinery" not in line] == []
    assert list((agent_repo / ".refinery" / "tmp").glob("*")) == []


def test_an_unexpected_error_exits_3_with_the_verbose_hint(
    agent_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Path, pattern: str) -> Any:
        raise RuntimeError("disk controller on fire")

    monkeypatch.setattr(Path, "glob", broken)
    (agent_repo / ".refinery" / "changes").mkdir(parents=True)
    result = CliRunner().invoke(app, ["history"])
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "error: unexpected RuntimeError: disk controller on fire (an internal error: run with "
        "--verbose for the traceback and report it)"
    ]


def test_a_context_file_later_replaced_by_a_symlink_outside_is_refused(
    agent_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert _analyze().exit_code == 0  # saves the context
    secret = tmp_path_factory.mktemp("outside") / "id_rsa"
    secret.write_text("PRIVATE KEY MATERIAL\n")
    prompt = agent_repo / PROMPT
    prompt.unlink()
    prompt.symlink_to(secret)
    result = CliRunner().invoke(
        app, ["analyze", TRACE, "--project", "weather", "--expected", EXPECTED, "--json"]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {PROMPT}: now leads outside the repository (to {secret}): refused, nothing was "
        "read: replace the link with the file itself, or drop it from the project with "
        "--remove-prompt/--remove-eval or refinery context --clear"
    ]
    assert "PRIVATE KEY" not in result.output


def test_faults_before_the_journal_exists_say_nothing_was_written(agent_repo: Path) -> None:
    before = _state(agent_repo)
    real = os.replace

    def full_disk(src: Any, dst: Any, **kw: Any) -> None:
        if str(dst).endswith("journal.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst, **kw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "replace", full_disk)
        result = _analyze("--apply", "2")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: cannot write Refinery's state in {agent_repo / '.refinery'}: No space left on "
        "device: nothing was written: make that folder writable or free some space, then retry"
    ]

    def no_fork() -> None:
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    with pytest.MonkeyPatch.context() as patch:
        _trap_git(patch, "status", no_fork)
        result = _analyze("--apply", "2")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: cannot start git (Resource temporarily unavailable): nothing was written; the "
        "system is short of processes or memory: close some programs and run it again"
    ]
    assert _state(agent_repo) == before


def test_human_output_names_each_skipped_fix_and_why(agent_repo: Path) -> None:
    from rich.console import Console

    from refinery.cli.render_analysis import render_analysis
    from refinery.models.change import SkippedFix
    from refinery.pipeline import AnalysisResult, AppliedRef

    analysed = AnalysisResult.model_validate_json(_analyze("--json").stdout)
    result = analysed.model_copy(
        update={
            "skipped": (
                SkippedFix(rank=1, title="Restate", reasons=("x.txt: edit 1: not found",)),
            ),
            "applied": AppliedRef(change_id="c1", commit="a" * 40, files=("x.txt",), hypothesis=2),
        }
    )
    console = Console(record=True, width=200)
    render_analysis(result, console, as_json=False)
    text = console.export_text()
    assert "Skipped fix 1 (Restate): x.txt: edit 1: not found\nApplied fix 2 in commit" in text
    data = json.loads(result.model_dump_json())
    assert data["skipped"] == [
        {"rank": 1, "title": "Restate", "reasons": ["x.txt: edit 1: not found"]}
    ]


_KILLED_CLI = """
import os, signal, subprocess, sys
real = subprocess.Popen
class Popen(real):
    def __init__(self, args, *rest, **kw):
        if args[3:4] == ["update-index"] and "GIT_INDEX_FILE" not in (kw.get("env") or {}):
            os.kill(os.getpid(), signal.SIGKILL)  # the commit is made; the index is not updated
        super().__init__(args, *rest, **kw)
subprocess.Popen = Popen
from refinery.cli import main
sys.argv = ["refinery", *sys.argv[1:]]
main()
"""


def _refinery(root: Path, *args: str, code: str = "from refinery.cli import main; main()") -> Any:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=root
    )


def test_analyze_apply_killed_mid_commit_is_completed_by_the_next_command_and_undoable(
    agent_repo: Path,
) -> None:
    before = (agent_repo / PROMPT).read_bytes()
    args = ["analyze", TRACE, "--project", "weather", "--expected", EXPECTED, *FILES, "--apply"]
    killed = _refinery(agent_repo, *args, code=_KILLED_CLI)
    assert killed.returncode == -9
    head = _git(agent_repo, "rev-parse", "HEAD").strip()
    assert _git(agent_repo, "log", "-1", "--format=%s").startswith("Refinery: ")
    undone = _refinery(agent_repo, "undo")
    assert undone.returncode == 0, undone.stderr
    assert undone.stderr.startswith(
        f"note: found an interrupted apply of fix #1 ({FIX_1[7:-1]}) and completed it: "
        f"commit {head[:12]}"
    )
    assert (agent_repo / PROMPT).read_bytes() == before
    assert (
        _git(agent_repo, "status", "--porcelain", "--untracked-files=all", "--", "examples") == ""
    )


def test_apply_outside_a_git_repository_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    result = _analyze("--apply", "1")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {tmp_path.resolve()} is not a git repository: run `git init` and commit your "
        "files first, so every change can be undone"
    ]
    assert not (tmp_path / ".refinery").exists()


def test_apply_0_is_refused_not_taken_for_the_best_fix(
    agent_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _state(agent_repo)
    code, _, err = _main(capsys, "--apply", "0")
    assert (code, err) == (
        2,
        "error: --apply 0: not a fix number (fixes are numbered from 1): use --apply alone for "
        "the best fix, or --apply N\n",
    )
    assert _state(agent_repo) == before
