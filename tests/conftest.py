"""Shared fixtures: paths to the shared real-shaped samples and a temporary git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository as the working directory, with a committer configured."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.com")):
        subprocess.run(["git", "-C", str(tmp_path), "config", key, value], check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path
