"""What Refinery keeps under ``.refinery/``: project context, extracted files, changes, analyses.

The cache of fetched traces belongs to ``traces`` (``traces/cache.py``): ``store`` reads traces to
extract files from them, so ``traces`` must not import ``store``.
"""

from __future__ import annotations

from ..atomic import write_atomic
from .context import (
    ContextAdditions,
    ResolvedContext,
    clear_project,
    describe_project,
    list_projects,
    load_contexts,
    resolve_context,
)
from .context_file import ContextFiles
from .extract import Extraction, extract_from_trace
from .paths import check_project_name, ensure_state_dir

__all__ = [
    "ContextAdditions",
    "ContextFiles",
    "Extraction",
    "ResolvedContext",
    "check_project_name",
    "clear_project",
    "describe_project",
    "ensure_state_dir",
    "extract_from_trace",
    "list_projects",
    "load_contexts",
    "resolve_context",
    "write_atomic",
]
