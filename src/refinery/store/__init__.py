"""What Refinery keeps under ``.refinery/``: project context, extracted files, cache, changes.

Change records (``store.changes``) are imported from their module: they depend on ``fixes.change``,
and ``fixes`` depends on them.
"""

from __future__ import annotations

from .atomic import write_atomic
from .cache import cache_get, cache_put
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
    "cache_get",
    "cache_put",
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
