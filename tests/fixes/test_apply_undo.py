from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from refinery.config import Settings
from refinery.errors import ApplyRefused
from refinery.fixes import apply_change, apply_ranked, dry_run, undo
from refinery.models.diagnosis import Hypothesis
from refinery.store.changes import list_changes

RULE = (
    "prompts/system.txt",
    "Be polite.\n",
    "Be polite.\nAlways offer a refund when a flight is cancelled.\n",
)

Hyp = Callable[..., Hypothesis]
Git = Callable[..., str]


def _apply(h: Hypothesis, settings: Settings, allowed: tuple[str, ...], **kw: object):
    return apply_change(
        h,
        analysis_id="an-42",
        expected="offer a refund",
        settings=settings,
        allowed_files=allowed,
        **kw,
    )  # type: ignore[arg-type]


def test_apply_commits_only_the_edit_with_a_descriptive_message(
    repo: Path, settings: Settings, hyp: Hyp, run_git: Git, allowed: tuple[str, ...]
) -> None:
    (repo / "unrelated.txt").write_text("the user's work\n")
    run_git(repo, "add", "unrelated.txt")  # staged by the user: must not be committed
    change = _apply(hyp(RULE), settings, allowed)
    assert run_git(repo, "rev-parse", "HEAD").strip() == change.commit
    assert run_git(repo, "show", "--name-only", "--format=", "HEAD") == "prompts/system.txt\n"
    message = run_git(repo, "log", "-1", "--format=%B")
    assert "Analysis: an-42\nHypothesis: #1 Add refund rule\nExpected: offer a refund\n" in message
    assert f"Refinery-Change: {change.id}" in message
    assert run_git(repo, "status", "--porcelain", "--untracked-files=no") == "A  unrelated.txt\n"
    assert [c.id for c in list_changes(settings.state_dir)] == [change.id]


def test_apply_then_undo_restores_crlf_bytes_and_mode_exactly(
    repo: Path, settings: Settings, hyp: Hyp, run_git: Git
) -> None:
    script = repo / "run.sh"
    original = b"#!/bin/sh\r\necho hello\r\necho bye\r\n"
    script.write_bytes(original)
    script.chmod(0o755)
    run_git(repo, "add", "run.sh")
    run_git(repo, "commit", "-q", "-m", "script")
    change = _apply(
        hyp(("run.sh", "echo hello\n", "echo hello\necho refund\n")), settings, ("run.sh",)
    )
    assert script.read_bytes() == b"#!/bin/sh\r\necho hello\r\necho refund\r\necho bye\r\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    undone = undo(None, settings)
    assert undone.id == change.id and undone.undone_by == run_git(repo, "rev-parse", "HEAD").strip()
    assert script.read_bytes() == original
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert run_git(repo, "status", "--porcelain", "--untracked-files=no") == ""
    assert run_git(repo, "diff", "HEAD~2", "HEAD", "--stat") == ""
    with pytest.raises(
        ApplyRefused, match=f"cannot undo change {change.id}: already undone by commit"
    ):
        undo(None, settings)
    with pytest.raises(ApplyRefused, match="already undone"):
        undo(change.id, settings)


def test_dirty_file_is_refused_and_left_untouched(
    repo: Path, settings: Settings, hyp: Hyp, run_git: Git, allowed: tuple[str, ...]
) -> None:
    prompt = repo / "prompts" / "system.txt"
    prompt.write_text(prompt.read_text() + "My own unfinished line.\n")
    before = prompt.read_bytes()
    head = run_git(repo, "rev-parse", "HEAD")
    with pytest.raises(ApplyRefused) as refused:
        _apply(hyp(RULE), settings, allowed)
    assert str(refused.value) == (
        "cannot apply fix 1 (Add refund rule): prompts/system.txt: has uncommitted changes: "
        "commit or stash them, or use --allow-dirty"
    )
    assert prompt.read_bytes() == before
    assert run_git(repo, "rev-parse", "HEAD") == head


def test_allow_dirty_commits_nothing_of_the_users_own_changes(
    repo: Path, settings: Settings, hyp: Hyp, run_git: Git, allowed: tuple[str, ...]
) -> None:
    prompt = repo / "prompts" / "system.txt"
    prompt.write_text(prompt.read_text() + "My own unfinished line.\n")
    dirty = prompt.read_bytes()
    _apply(hyp(RULE), settings, allowed, allow_dirty=True)
    committed = run_git(repo, "show", "HEAD:prompts/system.txt")
    assert "Always offer a refund" in committed and "My own unfinished line" not in committed
    assert (
        "My own unfinished line" in prompt.read_text()
        and "Always offer a refund" in prompt.read_text()
    )
    assert (
        run_git(repo, "diff").count("\n+My own unfinished line.") == 1
    )  # still only in the work tree
    undo(None, settings)
    assert prompt.read_bytes() == dirty


def test_allow_dirty_refuses_an_edit_that_touches_the_users_uncommitted_text(
    repo: Path, settings: Settings, hyp: Hyp, allowed: tuple[str, ...]
) -> None:
    prompt = repo / "prompts" / "system.txt"
    prompt.write_text(prompt.read_text() + "My own line.\n")
    h = hyp(("prompts/system.txt", "My own line.\n", "My own line, improved.\n"))
    with pytest.raises(ApplyRefused, match="the edits touch your uncommitted changes"):
        _apply(h, settings, allowed, allow_dirty=True)


@pytest.mark.parametrize(
    "secret",
    ["aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "-----BEGIN RSA PRIVATE KEY-----"],
)
def test_a_secret_planted_in_a_replacement_is_refused_and_nothing_written(
    repo: Path, settings: Settings, hyp: Hyp, run_git: Git, allowed: tuple[str, ...], secret: str
) -> None:
    before = (repo / "prompts" / "system.txt").read_bytes()
    h = hyp(
        ("agent.py", "MODEL = 'gpt-4.1'\n", "MODEL = 'gpt-4.1'\nRETRIES = 2\n"),
        ("prompts/system.txt", "Be polite.\n", f"Be polite.\n{secret}\n"),
    )
    with pytest.raises(ApplyRefused) as refused:
        _apply(h, settings, allowed)
    message = str(refused.value)
    assert "prompts/system.txt:3: the new text contains a secret (" in message
    assert "AKIAIOSFODNN7EXAMPLE" not in message
    assert (repo / "prompts" / "system.txt").read_bytes() == before
    assert "RETRIES" not in (repo / "agent.py").read_text()
    assert run_git(repo, "log", "--oneline").count("\n") == 1
    assert list_changes(settings.state_dir) == []


def test_every_problem_is_named_in_one_refusal(
    repo: Path, settings: Settings, hyp: Hyp, allowed: tuple[str, ...]
) -> None:
    h = hyp(
        ("agent.py", "def run():", "def start():"),
        ("evals.json", '{"cases": []}', '{"cases": [}'),
        ("prompts/system.txt", "Be rude.", "x"),
        ("../outside.txt", "a", "b"),
    )
    with pytest.raises(ApplyRefused) as refused:
        _apply(h, settings, allowed)
    message = str(refused.value)
    for expected in (
        "../outside.txt: outside the repository",
        "prompts/system.txt: edit 1: search text not found",
        "agent.py: removes or renames top-level name(s) run: a breaking change",
        "evals.json: no longer parses as JSON",
    ):
        assert expected in message


def test_untracked_target_and_missing_repository_are_refused(
    tmp_path_factory: pytest.TempPathFactory, repo: Path, settings: Settings, hyp: Hyp
) -> None:
    (repo / "draft.txt").write_text("Be polite.\n")
    with pytest.raises(ApplyRefused, match="draft.txt: not committed to git yet: commit it first"):
        _apply(hyp(("draft.txt", "Be polite.", "Be kind.")), settings, ("draft.txt",))
    plain = tmp_path_factory.mktemp("plain")
    (plain / "p.txt").write_text("Be polite.\n")
    with pytest.raises(ApplyRefused, match="is not a git repository: run `git init`"):
        _apply(hyp(("p.txt", "Be polite.", "Be kind.")), Settings(repo_root=plain), ("p.txt",))
    assert (plain / "p.txt").read_text() == "Be polite.\n"


def test_dry_run_shows_diff_and_problems_without_writing(
    repo: Path, settings: Settings, hyp: Hyp, allowed: tuple[str, ...]
) -> None:
    before = (repo / "prompts" / "system.txt").read_bytes()
    result = dry_run(hyp(RULE), settings, allowed)
    assert result.valid and result.files == ("prompts/system.txt",)
    assert "+Always offer a refund when a flight is cancelled.\n" in result.diff
    bad = dry_run(hyp(("agent.py", "def run():", "def go():")), settings, allowed)
    assert not bad.valid and bad.problems[0].startswith("agent.py: removes or renames")
    assert (repo / "prompts" / "system.txt").read_bytes() == before


def test_a_new_file_is_created_committed_and_removed_by_undo(
    repo: Path, settings: Settings, hyp: Hyp, run_git: Git
) -> None:
    h = hyp(("evals/refund.json", "", '{"input": "cancelled flight", "expected": "refund"}\n'))
    (repo / "evals").mkdir()
    _apply(h, settings, ("evals/refund.json",))
    assert run_git(repo, "ls-files", "evals") == "evals/refund.json\n"
    undo(None, settings)
    assert not (repo / "evals" / "refund.json").exists()
    assert run_git(repo, "ls-files", "evals") == ""


def test_undo_refuses_a_commit_refinery_did_not_make(
    repo: Path, settings: Settings, run_git: Git
) -> None:
    (repo / "agent.py").write_text("MODEL = 'x'\n")
    run_git(repo, "commit", "-q", "-am", "user's own commit")
    sha = run_git(repo, "rev-parse", "HEAD").strip()
    with pytest.raises(ApplyRefused, match=f"cannot undo commit {sha[:12]}: not made by Refinery"):
        undo(sha, settings)
    with pytest.raises(ApplyRefused, match="nothing to undo"):
        undo(None, settings)


def test_undo_refuses_a_pushed_change_whose_file_changed_naming_both(
    repo: Path,
    settings: Settings,
    hyp: Hyp,
    run_git: Git,
    allowed: tuple[str, ...],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    remote = tmp_path_factory.mktemp("remote") / "origin.git"
    run_git(repo, "init", "-q", "--bare", str(remote))
    run_git(repo, "remote", "add", "origin", str(remote))
    change = _apply(hyp(RULE), settings, allowed)
    run_git(repo, "push", "-q", "origin", "main")
    prompt = repo / "prompts" / "system.txt"
    prompt.write_text(prompt.read_text() + "edited afterwards\n")
    edited = prompt.read_bytes()
    with pytest.raises(ApplyRefused) as refused:
        undo(change.id, settings)
    message = str(refused.value)
    assert f"commit {change.commit[:12]} has been pushed to origin/main" in message
    assert "prompts/system.txt changed since the change" in message
    assert prompt.read_bytes() == edited


def test_undo_refuses_a_record_whose_commit_is_not_refinerys(
    repo: Path, settings: Settings, hyp: Hyp, run_git: Git, allowed: tuple[str, ...]
) -> None:
    change = _apply(hyp(RULE), settings, allowed)
    record = settings.state_dir / "changes" / f"{change.id}.json"
    first = run_git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    record.write_text(record.read_text().replace(change.commit, first))
    with pytest.raises(ApplyRefused, match="is not Refinery's"):
        undo(change.id, settings)


_APPLY_SCRIPT = """
import sys
from pathlib import Path
from refinery.models.diagnosis import Edit, Hypothesis
from refinery.config import Settings
from refinery.fixes import apply_change
search, replace = sys.argv[1], sys.argv[2]
edit = Edit(file="prompts/system.txt", search=search, replace=replace)
h = Hypothesis(rank=1, title="t", strategy="add_rule", rationale="r",
               failure_type="instruction_gap", risk="low", expected_effect="e", edits=(edit,))
apply_change(h, analysis_id="a", expected="e", settings=Settings(repo_root=Path.cwd()),
             allowed_files=["prompts/system.txt"])
"""


def test_two_applies_at_once_are_serialised(repo: Path, settings: Settings, run_git: Git) -> None:
    edits = [
        ("Be polite.\n", "Be polite.\nRule A.\n"),
        ("Answer briefly.\n", "Answer briefly.\nRule B.\n"),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _APPLY_SCRIPT, s, r], cwd=repo, env=env, stderr=subprocess.PIPE
        )
        for s, r in edits
    ]
    results = [(p.wait(timeout=60), p.stderr.read() if p.stderr else b"") for p in procs]
    assert [code for code, _ in results] == [0, 0], results
    text = (repo / "prompts" / "system.txt").read_text()
    assert text.splitlines() == [
        "You are a support agent for an airline.",
        "Be polite.",
        "Rule A.",
        "Answer briefly.",
        "Rule B.",
    ]
    assert run_git(repo, "log", "--format=%s").splitlines() == [
        "Refinery: t",
        "Refinery: t",
        "initial",
    ]
    assert run_git(repo, "show", "HEAD:prompts/system.txt") == text
    assert len(list_changes(settings.state_dir)) == 2


def test_allow_dirty_keeps_the_users_staged_hunk_staged_and_uncommitted(
    repo: Path, settings: Settings, hyp: Hyp, run_git: Git, allowed: tuple[str, ...]
) -> None:
    prompt = repo / "prompts" / "system.txt"
    prompt.write_text(prompt.read_text() + "My staged line.\n")
    run_git(repo, "add", "prompts/system.txt")
    _apply(hyp(RULE), settings, allowed, allow_dirty=True)
    assert "My staged line" not in run_git(repo, "show", "HEAD:prompts/system.txt")
    staged = run_git(repo, "diff", "--cached", "-U0")
    assert "+My staged line." in staged and "refund" not in staged
    assert run_git(repo, "diff") == ""


def test_apply_best_skips_only_fixes_invalid_in_themselves_and_says_why(
    repo: Path, settings: Settings, hyp: Hyp, run_git: Git, allowed: tuple[str, ...]
) -> None:
    broken = hyp(("agent.py", "def run():", "def start():"), rank=1, title="Rename run")
    missing = hyp(("prompts/system.txt", "Be rude.\n", "Be kind.\n"), rank=2, title="Soften")
    outcome = apply_ranked(
        [broken, missing, hyp(RULE, rank=3)],
        None,
        analysis_id="an-1",
        expected="offer a refund",
        settings=settings,
        allowed_files=allowed,
    )
    assert outcome.rank == 3 and outcome.change is not None
    assert [(s.rank, s.title) for s in outcome.skipped] == [(1, "Rename run"), (2, "Soften")]
    assert outcome.skipped[0].reasons == (
        "agent.py: removes or renames top-level name(s) run: a breaking change",
    )
    assert outcome.skipped[1].reasons[0].startswith("prompts/system.txt: edit 1: search text not")
    assert run_git(repo, "log", "-1", "--format=%s") == "Refinery: Add refund rule\n"


def test_apply_best_refuses_when_the_best_valid_fix_is_blocked_by_a_dirty_file(
    repo: Path, settings: Settings, hyp: Hyp, run_git: Git, allowed: tuple[str, ...]
) -> None:
    prompt = repo / "prompts" / "system.txt"
    prompt.write_text(prompt.read_text() + "Mine.\n")
    config = ("agent.py", "MODEL = 'gpt-4.1'\n", "MODEL = 'gpt-4.1'\nRETRIES = 2\n")
    with pytest.raises(ApplyRefused) as refused:
        apply_ranked(
            [hyp(RULE), hyp(config, rank=2, title="Retry")],
            None,
            analysis_id="an-1",
            expected="offer a refund",
            settings=settings,
            allowed_files=allowed,
        )
    assert str(refused.value).startswith(
        "fix 1 (Add refund rule), the best fix, cannot be applied now: prompts/system.txt: has "
        "uncommitted changes"
    )
    assert "RETRIES" not in (repo / "agent.py").read_text()
    assert run_git(repo, "log", "--format=%s") == "initial\n"
