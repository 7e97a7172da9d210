"""The page's view of the library: saved analyses, their traces, projects, files and changes.

Every route goes through a ``Workspace``. Analyses are the pipeline's saved analyses (``analyze``
saves them; the history store lists them); beside each one the page keeps a small record of where
its trace is and its token health, which reopening needs. Applying and undoing call the same
``apply_saved`` and ``undo_change`` as ``refinery apply`` and ``refinery undo``. Traces stay in a
small in-memory cache: a 50,000-run trace is parsed once, not once per request.
"""

from __future__ import annotations

import gc
import hashlib
import subprocess
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..analysis.tokens import TokenReport
from ..config import Settings
from ..errors import InputError
from ..models.change import Change
from ..models.verification import VerificationReport
from ..pipeline import (
    AnalysisResult,
    AppliedSaved,
    apply_saved,
    history,
    load_analysis,
    load_attachment,
    save_attachment,
    undo_change,
)
from ..store.context import ProjectDescription, ProjectSummary, describe_project, list_projects
from ..store.history import History, HistoryQuery
from ..traces.model import Trace

_FROZEN = ConfigDict(frozen=True, extra="forbid")
ATTACHMENT = "ui"
"""The name of the page's record beside a saved analysis (``.refinery/analyses/<id>/ui.json``)."""
_TRACE_CACHE = 3
_MAX_FILES = 3000
_SKIPPED_DIRS = {".git", ".refinery", ".venv", "venv", "node_modules", "__pycache__", ".tox"}


class TraceRecord(BaseModel):
    """What the page keeps beside a saved analysis: where its trace is, and its token health."""

    model_config = _FROZEN

    trace_ref: str
    """The trace: a path relative to the repository, or a LangSmith/Langfuse id."""
    source: str | None = None
    """``file``, ``langsmith`` or ``langfuse``; None when guessed from ``trace_ref``."""
    trace_name: str
    """What the person gave: the file's name or the id."""
    tokens: TokenReport | None = None
    """Token health of the trace, computed once when the analysis ran."""


@dataclass(frozen=True, kw_only=True)
class SavedAnalysis:
    """A saved analysis and, when the page made it, where its trace is."""

    result: AnalysisResult
    record: TraceRecord | None

    @property
    def trace_name(self) -> str:
        """The trace as the person named it, else its id."""
        return self.record.trace_name if self.record else self.result.trace.id

    @property
    def tokens(self) -> TokenReport | None:
        """Token health, when the page measured it."""
        return self.record.tokens if self.record else None

    @property
    def created_at(self) -> datetime | None:
        """When the analysis ran."""
        return self.result.created_at


class Workspace:
    """The repository the page works on: its saved analyses and a cache of parsed traces."""

    def __init__(self, settings: Settings) -> None:
        """Serve ``settings.repo_root``."""
        self.settings = settings
        self._traces: OrderedDict[str, Trace] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, result: AnalysisResult, record: TraceRecord, trace: Trace) -> None:
        """Keep where a (saved) analysis' trace is, and the parsed trace in the cache."""
        save_attachment(self.settings, result.analysis_id, ATTACHMENT, record)
        self._remember(result.analysis_id, trace)

    def load(self, analysis_id: str) -> SavedAnalysis:
        """A saved analysis by id or unique prefix; InputError when there is none."""
        result = load_analysis(self.settings, analysis_id)
        record = load_attachment(self.settings, result.analysis_id, ATTACHMENT, TraceRecord)
        return SavedAnalysis(result=result, record=record)

    def history(self, project: str | None = None, limit: int = 200) -> History:
        """Analyses and changes from the history store, newest first."""
        return history(self.settings, HistoryQuery(project=project, limit=limit))

    def traceable(self, saved: SavedAnalysis) -> bool:
        """True when the analysis' trace can be shown: kept by the page, or fetched by id."""
        return saved.record is not None or saved.result.trace.source in self.remote_sources()

    def trace(self, saved: SavedAnalysis) -> Trace:
        """The analysis' trace, parsed once and then served from memory."""
        key = saved.result.analysis_id
        with self._lock:
            cached = self._traces.get(key)
            if cached is not None:
                self._traces.move_to_end(key)
                return cached
        from ..traces.sources import load_trace

        record = saved.record
        ref: str = saved.result.trace.id  # made on the command line: fetched again by id
        source: str | None = saved.result.trace.source
        if record is not None:
            ref, source = self._resolve(record.trace_ref), record.source
        trace = load_trace(ref, self.settings, source=source)
        self._remember(key, trace)
        return trace

    def _resolve(self, ref: str) -> str:
        path = self.settings.repo_root / ref
        return str(path) if path.exists() else ref

    def _remember(self, key: str, trace: Trace) -> None:
        with self._lock:
            self._traces[key] = trace
            self._traces.move_to_end(key)
            if len(self._traces) > _TRACE_CACHE:
                self._traces.popitem(last=False)
                gc.unfreeze()  # let the collector reclaim what the evicted trace leaves behind
            # A 50,000-run trace is millions of long-lived objects: walking them made a random
            # request pause for a second. The server process owns its collector: freeze them.
            gc.freeze()

    def projects(self) -> tuple[ProjectSummary, ...]:
        """Saved projects, most recently used first."""
        return list_projects(self.settings)

    def project(self, name: str) -> ProjectDescription | None:
        """A project's saved files, or None for a new project."""
        try:
            return describe_project(self.settings, name)
        except InputError:
            return None

    def repo_files(self) -> list[str]:
        """Files inside the repository (tracked or not ignored), relative, sorted; capped."""
        root = self.settings.repo_root
        listed = _git_files(root)
        files = listed if listed is not None else _walk(root)
        top = root.resolve()
        inside = [
            p
            for p in files
            if not p.startswith(".refinery/") and (root / p).resolve().is_relative_to(top)
        ]
        return sorted(inside)[:_MAX_FILES]

    def store_upload(self, data: bytes, filename: str) -> str:
        """Keep an uploaded trace under ``.refinery/ui/uploads/``; its repository-relative path.

        The name is derived from the content, never taken from the upload.
        """
        suffix = ".jsonl" if filename.lower().endswith(".jsonl") else ".json"
        folder = self.settings.state_dir / "ui" / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"trace_{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
        path.write_bytes(data)
        return path.relative_to(self.settings.repo_root).as_posix()

    def remote_sources(self) -> tuple[str, ...]:
        """Trace services whose keys are configured."""
        found = []
        if self.settings.key("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"):
            found.append("langsmith")
        if self.settings.key("LANGFUSE_PUBLIC_KEY") and self.settings.key("LANGFUSE_SECRET_KEY"):
            found.append("langfuse")
        return tuple(found)

    def can_verify(self, saved: SavedAnalysis) -> bool:
        """True when an LLM key is configured and the analysis' trace can be had again."""
        from ..llm.provider import detect_provider

        return detect_provider(self.settings) is not None and self.traceable(saved)

    def verification(self, analysis_id: str) -> VerificationReport | None:
        """The verification kept beside an analysis, if it was verified."""
        from ..verify.saved import load_verification

        return load_verification(self.settings, analysis_id)

    def change_for(self, analysis_id: str, rank: int) -> Change | None:
        """The latest change that applied fix ``rank`` of this analysis."""
        from ..store.changes import list_changes

        for change in reversed(list_changes(self.settings.state_dir)):
            if change.analysis_id == analysis_id and change.hypothesis_rank == rank:
                return change
        return None

    def apply(self, analysis_id: str, rank: int) -> AppliedSaved:
        """Apply fix ``rank`` of a saved analysis as ``refinery apply ID N`` does."""
        return apply_saved(self.settings, analysis_id, rank)

    def undo(self, change_id: str) -> Change:
        """Revert an applied change as ``refinery undo`` does."""
        return undo_change(self.settings, change_id)


def _git_files(root: Path) -> list[str] | None:
    try:
        done = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    names = (n for n in done.stdout.decode("utf-8", "replace").split("\0") if n)
    return [n for n in names if (root / n).is_file()]


def _walk(root: Path) -> list[str]:
    found: list[str] = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if any(part in _SKIPPED_DIRS for part in parts) or not path.is_file():
            continue
        found.append("/".join(parts))
        if len(found) >= _MAX_FILES:
            break
    return found
