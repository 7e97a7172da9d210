"""Where Refinery keeps its state: every path under ``.refinery/`` is named here, once.

Modules that read or write ``.refinery/`` ask this module for their paths instead of joining
strings, so the layout of SPEC §6 is written down in one place. Project names become directory
names, so they are checked here before any path is built from them; paths the user gives are
checked here to lead to readable files inside the repository.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from ..config import Settings
from ..errors import InputError

_PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ProjectFolder(StrEnum):
    """The sub-folders of a project's directory, one per kind of extracted file."""

    PROMPTS = "prompts"
    EVALS = "evals"
    CONFIGS = "configs"


def context_file(settings: Settings) -> Path:
    """``.refinery/context.json``: every project's saved context."""
    return settings.state_dir / "context.json"


def context_lock_file(settings: Settings) -> Path:
    """``.refinery/context.lock``: held while ``context.json`` is read, changed and replaced."""
    return settings.state_dir / "context.lock"


def projects_dir(settings: Settings) -> Path:
    """``.refinery/projects/``: one directory per project."""
    return settings.state_dir / "projects"


def project_dir(settings: Settings, name: str) -> Path:
    """``.refinery/projects/<name>/``, after checking that ``name`` is a safe directory name."""
    return projects_dir(settings) / check_project_name(name)


def project_folder(settings: Settings, name: str, folder: ProjectFolder) -> Path:
    """``.refinery/projects/<name>/{prompts,evals,configs}/``."""
    return project_dir(settings, name) / folder.value


def check_project_name(name: str) -> str:
    """Return ``name`` when it is safe as a directory name, else raise InputError."""
    if _PROJECT_NAME.match(name) and not name.endswith("."):
        return name
    raise InputError(
        f"invalid project name {name!r}",
        "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    )


_STATE_GITIGNORE = """\
# Written by Refinery: local state stays out of git; context.json and projects/ may be shared.
cache/
logs/
batches/
changes/
analyses/
snapshots/
refinery.db*
journal/
tmp/
*.lock
*.bak-*
.*.tmp
"""


def ensure_state_dir(settings: Settings) -> Path:
    """Create ``.refinery/`` with a ``.gitignore`` for its machine-local parts; return its path."""
    state = settings.state_dir
    state.mkdir(parents=True, exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text(_STATE_GITIGNORE, encoding="utf-8")
        return state
    # A .gitignore written by an older Refinery gains the folders added since (saved analyses
    # quote the trace: they must never reach a commit by accident).
    present = ignore.read_text(encoding="utf-8")
    lines = present.split("\n")
    missing = [line for line in _STATE_GITIGNORE.splitlines()[1:] if line not in lines]
    if missing:
        ending = "" if present.endswith("\n") else "\n"
        ignore.write_text(present + ending + "\n".join(missing) + "\n", encoding="utf-8")
    return state
