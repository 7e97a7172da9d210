from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from refinery.errors import ApplyRefused
from refinery.fixes import git


def test_a_directory_outside_git_is_refused_with_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(ApplyRefused) as refused:
        git.toplevel(tmp_path)
    assert str(refused.value) == (
        f"{tmp_path} is not a git repository: run `git init` and commit your files first, "
        "so every change can be undone"
    )


def test_dirty_paths_sees_staged_unstaged_and_untracked_files(
    repo: Path, run_git: Callable[..., str]
) -> None:
    (repo / "agent.py").write_text("changed\n")
    (repo / "evals.json").write_text("{}\n")
    run_git(repo, "add", "evals.json")
    (repo / "new.txt").write_text("x")
    paths = ["agent.py", "evals.json", "new.txt", "prompts/system.txt"]
    assert git.dirty_paths(repo, paths) == {"agent.py", "evals.json", "new.txt"}


def test_create_commit_holds_only_the_given_files_and_leaves_the_index_alone(
    repo: Path, run_git: Callable[..., str]
) -> None:
    (repo / "evals.json").write_text('{"staged": true}\n')
    run_git(repo, "add", "evals.json")
    head = git.head(repo)
    assert head is not None
    blob = git.write_blob(repo, b"new prompt\n")
    entry = git.Entry(mode=git.REGULAR, sha=blob)
    commit = git.create_commit(
        repo, head, {"prompts/system.txt": entry}, "msg\n\nRefinery-Change: c1\n"
    )
    assert (
        run_git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", commit)
        == "prompts/system.txt\n"
    )
    assert git.trailer(repo, commit, git.CHANGE_TRAILER) == "c1"
    assert git.head(repo) == head  # HEAD only moves with advance_head
    assert run_git(repo, "diff", "--cached", "--name-only") == "evals.json\n"


def test_pushed_commits_are_found_on_remote_tracking_branches(
    repo: Path, tmp_path_factory: pytest.TempPathFactory, run_git: Callable[..., str]
) -> None:
    remote = tmp_path_factory.mktemp("remote") / "origin.git"
    run_git(repo, "init", "-q", "--bare", str(remote))
    run_git(repo, "remote", "add", "origin", str(remote))
    head = git.head(repo)
    assert head is not None
    assert git.remote_branches_containing(repo, head) == []
    run_git(repo, "push", "-q", "origin", "main")
    assert git.remote_branches_containing(repo, head) == ["origin/main"]
