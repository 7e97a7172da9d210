"""``.refinery/``'s own ``.gitignore``: machine-local state, journal and temporary files ignored."""

from __future__ import annotations

import subprocess
from pathlib import Path

from refinery.config import Settings
from refinery.store.paths import ensure_state_dir

_OLD = """\
# Written by Refinery: local state stays out of git; context.json and projects/ may be shared.
cache/
logs/
batches/
changes/
*.lock
*.bak-*
"""


def _ignored(root: Path, *paths: str) -> list[str]:
    result = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "--no-index", *paths],
        capture_output=True,
        text=True,
    )
    return result.stdout.splitlines()


def test_journal_and_temporary_files_are_ignored_and_shared_files_are_not(git_repo: Path) -> None:
    state = ensure_state_dir(Settings(repo_root=git_repo))
    (state / ".gitignore").write_text(_OLD)  # what an earlier version wrote
    ensure_state_dir(Settings(repo_root=git_repo))
    leftovers = [
        ".refinery/journal/journal.json",
        ".refinery/tmp/.system.txt.k2j3.refinery",
        ".refinery/.context.json.x8a1.tmp",
        ".refinery/projects/bot/prompts/.system_prompt_1_abc123.txt.q1.tmp",
    ]
    shared = [".refinery/context.json", ".refinery/projects/bot/prompts/system_prompt_1_abc123.txt"]
    assert _ignored(git_repo, *leftovers, *shared) == leftovers
