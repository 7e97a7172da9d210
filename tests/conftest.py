"""Shared fixtures: paths to the shared real-shaped samples and a temporary git repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests run the same examples every time, so a red CI means a change broke something, not
# that a new random example turned up; `HYPOTHESIS_PROFILE=explore` searches with fresh examples.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository as the working directory, with a committer configured."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.com")):
        subprocess.run(["git", "-C", str(tmp_path), "config", key, value], check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


_SERVICE_PREFIXES = (
    "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "AZURE_OPENAI_", "LANGSMITH_", "LANGCHAIN_",
    "LANGFUSE_", "REFINERY_",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own keys must never make a test call a real service or pick a provider."""
    for name in list(os.environ):
        if name.startswith(_SERVICE_PREFIXES):
            monkeypatch.delenv(name)
