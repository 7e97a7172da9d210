"""Change: an applied hypothesis, as recorded for undo and history.

A Change names what was touched (each file with its sha256 before and after), the git commit that
holds it and how to take it back. It is a value: the store writes it to ``.refinery/changes/`` and
``--json`` prints it as is.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ChangedFile(BaseModel):
    """One file a change touched."""

    model_config = _FROZEN

    path: str
    """Path relative to the repository root (symlinks resolved)."""
    sha256_before: str | None
    """sha256 of the working-tree bytes before the change; None when the change created the file."""
    sha256_after: str
    """sha256 of the working-tree bytes the change wrote."""


class Change(BaseModel):
    """An applied hypothesis: what changed, in which commit, and how to undo it."""

    model_config = _FROZEN

    id: str
    """The change id (sortable: creation time then a random suffix)."""
    analysis_id: str
    """The analysis whose hypothesis this applies."""
    hypothesis_rank: int
    """The applied hypothesis' rank."""
    hypothesis_title: str
    """The applied hypothesis' title."""
    expected: str
    """The expected behaviour the change aims for, in the user's words."""
    files: tuple[ChangedFile, ...]
    """The files written."""
    commit: str
    """The git commit holding the change."""
    created_at: datetime
    """When the change was applied (UTC)."""
    undone_by: str | None = None
    """The git commit that reverted this change, once undone."""
    undo_command: str = ""
    """The command that reverts this change; empty once it is undone."""


class SkippedFix(BaseModel):
    """A better-ranked fix that ``--apply`` passed over because it is invalid in itself."""

    model_config = _FROZEN

    rank: int
    """The fix's rank."""
    title: str
    """The fix's title."""
    reasons: tuple[str, ...]
    """Why it cannot apply (an edit does not match, the file would break...), one line each."""
