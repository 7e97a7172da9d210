"""Fixes: prepare, validate, write and commit a hypothesis' edits, and undo them.

Everything is checked in memory before anything is written; writes are atomic and all or nothing;
each applied hypothesis is one git commit that ``undo`` can revert.
"""

from __future__ import annotations

from ..models.change import Change, ChangedFile
from .apply import DryRun, apply_change, dry_run, undo
from .edits import PreparedChange, PreparedFile, check_edit, prepare_edits, render_diff
from .secrets import SecretHit, scan_text

__all__ = [
    "Change",
    "ChangedFile",
    "DryRun",
    "PreparedChange",
    "PreparedFile",
    "SecretHit",
    "apply_change",
    "check_edit",
    "dry_run",
    "prepare_edits",
    "render_diff",
    "scan_text",
    "undo",
]
