"""Fixtures for the fixes tests: a committed repository, settings and hypotheses."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from refinery.config import Settings
from refinery.models.diagnosis import Edit, FailureType, Hypothesis, Level

PROMPT = "You are a support agent for an airline.\nBe polite.\nAnswer briefly.\n"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout


def make_hypothesis(
    *edits: tuple[str, str, str], rank: int = 1, title: str = "Add refund rule"
) -> Hypothesis:
    return Hypothesis(
        rank=rank,
        title=title,
        strategy="add_rule",
        rationale="the prompt lacks the rule",
        failure_type=FailureType.INSTRUCTION_GAP,
        risk=Level.LOW,
        expected_effect="the agent offers a refund",
        edits=tuple(Edit(file=f, search=s, replace=r) for f, s, r in edits),
    )


@pytest.fixture
def repo(git_repo: Path) -> Path:
    """A repository with a prompt, a Python config and a JSON eval file, all committed."""
    (git_repo / "prompts").mkdir()
    (git_repo / "prompts" / "system.txt").write_text(PROMPT)
    (git_repo / "agent.py").write_text("MODEL = 'gpt-4.1'\n\n\ndef run():\n    return MODEL\n")
    (git_repo / "evals.json").write_text('{"cases": []}\n')
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "initial")
    return git_repo


@pytest.fixture
def settings(repo: Path) -> Settings:
    return Settings(repo_root=repo)


@pytest.fixture
def hyp() -> Callable[..., Hypothesis]:
    """Build a hypothesis from ``(file, search, replace)`` triples."""
    return make_hypothesis


@pytest.fixture
def run_git() -> Callable[..., str]:
    """Run git in a directory and return its stdout."""
    return git


@pytest.fixture
def allowed() -> tuple[str, ...]:
    """The project's context files in ``repo``."""
    return ("prompts/system.txt", "agent.py", "evals.json")
