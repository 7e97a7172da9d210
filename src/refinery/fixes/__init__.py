"""Fixes: prepare, validate, write and commit a hypothesis' edits, and undo them.

Everything is checked in memory before anything is written; writes are atomic and all or nothing;
each applied hypothesis is one git commit that ``undo`` can revert.
"""

from __future__ import annotations

from ..models.change import Change, ChangedFile, SkippedFix
from .apply import ApplyOutcome, DryRun, apply_change, apply_ranked, dry_run
from .edits import PreparedChange, PreparedFile, check_edit, prepare_edits, render_diff
from .secrets import SecretHit, scan_text
from .transaction import recover_pending
from .undo import undo

__all__ = [
    "ApplyOutcome",
    "Change",
    "ChangedFile",
    "DryRun",
    "PreparedChange",
    "PreparedFile",
    "SecretHit",
    "SkippedFix",
    "apply_change",
    "apply_ranked",
    "check_edit",
    "dry_run",
    "prepare_edits",
    "recover_pending",
    "render_diff",
    "scan_text",
    "undo",
]
