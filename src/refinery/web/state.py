"""The page's view of the library: saved analyses, their traces, projects, files and changes.

Every route goes through a ``Workspace`` so that the storage behind it can change in one place:
analyses are kept under ``.refinery/ui/analyses/`` with where their trace came from and its token
report (what reopening needs); applying and undoing call ``refinery.fixes`` exactly as the CLI
does. Traces stay in a small in-memory cache: a 50,000-run trace is parsed once, not per request.
"""

from __future__ import annotations

import gc
import hashlib
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..analysis.tokens import TokenReport
from ..config import Settings
from ..errors import InputError
from ..models.change import Change
from ..pipeline import AnalysisResult
from ..store.context import ProjectDescription, ProjectSummary, describe_project, list_projects
from ..traces.model import Trace

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_TRACE_CACHE = 3
_MAX_FILES = 3000
_SKIPPED_DIRS = {".git", ".refinery", ".venv", "venv", "node_modules", "__pycache__", ".tox"}


class SavedAnalysis(BaseModel):
    """One analysis as the page keeps it: the result, where its trace is, its token report."""

    model_config = _FROZEN

    result: AnalysisResult
    """What ``analyze`` returned (the ``--json`` object)."""
    trace_ref: str
    """The trace: a path relative to the repository, or a LangSmith/Langfuse id."""
    source: str | None = None
    """``file``, ``langsmith`` or ``langfuse``; None when guessed from ``trace_ref``."""
    trace_name: str
    """What the person gave: the file's name or the id."""
    tokens: TokenReport | None = None
    """Token health of the trace, computed once when the analysis ran."""
    created_at: datetime
    """When the analysis finished (UTC)."""


class Workspace:
    """The repository the page works on, with its saved analyses and a cache of parsed traces."""

    def __init__(self, settings: Settings) -> None:
        """Serve ``settings.repo_root``."""
        self.settings = settings
        self._traces: OrderedDict[str, Trace] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def analyses_dir(self) -> Path:
        """Where the page keeps its analyses."""
        return self.settings.state_dir / "ui" / "analyses"

    def save(self, saved: SavedAnalysis, trace: Trace) -> None:
        """Keep an analysis (and its parsed trace in the cache)."""
        self.analyses_dir.mkdir(parents=True, exist_ok=True)
        path = self.analyses_dir / f"{saved.result.analysis_id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(saved.model_dump_json(), encoding="utf-8")
        tmp.replace(path)
        self._remember(saved.result.analysis_id, trace)

    def load(self, analysis_id: str) -> SavedAnalysis:
        """A kept analysis; InputError when there is none by that id."""
        if not analysis_id.replace("_", "").isalnum():
            raise InputError(f"no analysis {analysis_id!r}", "open one from the history")
        path = self.analyses_dir / f"{analysis_id}.json"
        if not path.is_file():
            raise InputError(f"no analysis {analysis_id!r}", "open one from the history")
        return SavedAnalysis.model_validate_json(path.read_bytes())

    def analyses(self, project: str | None = None) -> list[SavedAnalysis]:
        """Kept analyses, newest first, of one project or all."""
        if not self.analyses_dir.is_dir():
            return []
        found = [SavedAnalysis.model_validate_json(p.read_bytes()) for p in self._files()]
        chosen = [a for a in found if project is None or a.result.project == project]
        return sorted(chosen, key=lambda a: a.created_at, reverse=True)

    def _files(self) -> Iterable[Path]:
        return self.analyses_dir.glob("an_*.json")

    def trace(self, saved: SavedAnalysis) -> Trace:
        """The analysis' trace, parsed once and then served from memory."""
        key = saved.result.analysis_id
        with self._lock:
            cached = self._traces.get(key)
            if cached is not None:
                self._traces.move_to_end(key)
                return cached
        from ..traces.sources import load_trace

        trace = load_trace(self._resolve(saved.trace_ref), self.settings, source=saved.source)
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

    def changes(self, project: str | None = None) -> list[Change]:
        """Applied changes, newest first, of one project's analyses or all."""
        from ..store.changes import list_changes

        changes = list(reversed(list_changes(self.settings.state_dir)))
        if project is None:
            return changes
        ids = {a.result.analysis_id for a in self.analyses(project)}
        return [c for c in changes if c.analysis_id in ids]

    def change_for(self, analysis_id: str, rank: int) -> Change | None:
        """The latest change that applied fix ``rank`` of this analysis."""
        for change in self.changes():
            if change.analysis_id == analysis_id and change.hypothesis_rank == rank:
                return change
        return None

    def apply(self, analysis_id: str, rank: int) -> Change:
        """Apply fix ``rank`` of a kept analysis: the edits shown, through ``apply_change``."""
        from ..fixes.apply import apply_change

        result = self.load(analysis_id).result
        chosen = next((h for h in result.hypotheses if h.rank == rank), None)
        if chosen is None:
            raise InputError(f"analysis {analysis_id} has no fix {rank}", "reload the page")
        context = result.context
        return apply_change(
            chosen,
            analysis_id=result.analysis_id,
            expected=result.expected,
            settings=self.settings,
            allowed_files=[*context.prompt_files, *context.eval_files, *context.config_files],
        )

    def undo(self, change_id: str) -> Change:
        """Revert an applied change, through the same ``undo`` as ``refinery undo``."""
        from ..fixes.apply import undo

        return undo(change_id, self.settings)


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


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
