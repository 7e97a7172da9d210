"""CLI fixtures: the bundled example agent, committed in a temporary repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sample_paths import EXAMPLES


@pytest.fixture
def agent_repo(git_repo: Path) -> Path:
    """A git repository holding a committed copy of the example agent."""
    shutil.copytree(EXAMPLES, git_repo / "examples")
    subprocess.run(["git", "add", "-A"], cwd=git_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "agent"], cwd=git_repo, check=True)
    return git_repo
