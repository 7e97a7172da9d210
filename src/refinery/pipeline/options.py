"""What ``analyze`` is asked to do: which project files to use, how to analyse, what to apply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..config import DEFAULT_BUDGET


@dataclass(frozen=True, kw_only=True)
class ContextRequest:
    """Context flags of ``analyze``; empty means reuse what the project saved."""

    prompt_files: Sequence[str] = ()
    eval_files: Sequence[str] = ()
    config_files: Sequence[str] = ()
    add_prompts: Sequence[str] = ()
    add_evals: Sequence[str] = ()
    remove_prompts: Sequence[str] = ()
    remove_evals: Sequence[str] = ()
    update: bool = False
    extract_from_trace: bool = False
    cwd: Path | None = None
    """What relative paths are relative to; the repository root when None."""


@dataclass(frozen=True, kw_only=True)
class AnalyzeOptions:
    """How to analyse."""

    budget: int = DEFAULT_BUDGET
    """Token budget for the condensed trace."""
    source: str | None = None
    """Trace source override (``file``, ``langsmith``, ``langfuse``)."""
    apply: int | None = None
    """Apply this hypothesis rank (0 = the best valid one); None = dry run."""
    allow_dirty: bool = False
    """Apply even when target files have uncommitted changes."""
    context: ContextRequest = field(default_factory=ContextRequest)
    """Which project files to use."""
