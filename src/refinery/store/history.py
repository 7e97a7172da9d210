"""History: saved analyses and applied changes, newest first, from the index database.

One page is two indexed queries (analyses, changes; each ``ORDER BY created_at DESC LIMIT n``)
merged by time, plus one lookup of the changes each listed analysis led to, so a page costs the
same with ten analyses or ten thousand. Filters: project, trace (id or prefix), since a time.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .analyses import analyses_dir, ensure_indexed, sync_changes, utc_text
from .db import connect, db_path

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AnalysisEntry(BaseModel):
    """One saved analysis."""

    model_config = _FROZEN

    kind: Literal["analysis"] = "analysis"
    id: str
    """The analysis id (``refinery show``/``apply`` accept any unique prefix)."""
    created_at: datetime
    project: str
    trace_id: str
    trace_source: str
    expected: str
    failure_type: str
    confidence: str
    analyser: str
    """``offline`` or the LLM provider."""
    model: str | None
    cost_usd: float | None
    summary: str
    """The diagnosis' executive summary."""
    hypotheses: int
    valid_hypotheses: int
    """How many fixes applied cleanly when the analysis ran."""
    changes: tuple[str, ...] = ()
    """Ids of the changes that applied one of its fixes."""


class ChangeEntry(BaseModel):
    """One applied change, and its undo."""

    model_config = _FROZEN

    kind: Literal["change"] = "change"
    id: str
    """The change id (``refinery undo`` takes it)."""
    created_at: datetime
    analysis_id: str
    """The analysis it came from."""
    hypothesis_rank: int
    title: str
    commit: str
    files: tuple[str, ...]
    undone_by: str | None
    """The commit that reverted it, once undone."""
    project: str | None
    """The analysis' project, when that analysis is saved here."""


class History(BaseModel):
    """A page of history, newest first."""

    model_config = _FROZEN

    entries: tuple[AnalysisEntry | ChangeEntry, ...]
    more: bool
    """True when older entries exist beyond this page."""


@dataclass(frozen=True, kw_only=True)
class HistoryQuery:
    """Which entries to list."""

    project: str | None = None
    trace: str | None = None
    """A trace id or its prefix."""
    since: datetime | None = None
    limit: int = 20


_ANALYSIS_COLUMNS = (
    "id, created_at, project, trace_id, trace_source, expected, failure_type, confidence, "
    "analyser, model, cost_usd, summary, hypotheses, valid_hypotheses"
)


def read_history(state_dir: Path, query: HistoryQuery) -> History:
    """A page of analyses and changes matching ``query``, newest first."""
    if not _kept_anything(state_dir):
        return History(entries=(), more=False)
    with connect(state_dir) as db:
        ensure_indexed(db, state_dir)
        sync_changes(db, state_dir)
        analyses = _analyses(db, query)
        changes = _changes(db, query)
        led = _changes_of(db, [a.id for a in analyses])
    listed: list[AnalysisEntry | ChangeEntry] = [
        a.model_copy(update={"changes": led.get(a.id, ())}) for a in analyses
    ]
    merged = sorted(
        [*listed, *changes],
        key=lambda entry: (entry.created_at, entry.id),
        reverse=True,
    )
    return History(entries=tuple(merged[: query.limit]), more=len(merged) > query.limit)


def _kept_anything(state_dir: Path) -> bool:
    """False in a fresh clone: listing nothing must not create the database."""
    from .changes import changes_dir

    places = (db_path(state_dir), analyses_dir(state_dir), changes_dir(state_dir))
    return any(place.exists() for place in places)


def _filters(query: HistoryQuery, table: str) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if query.project:
        clauses.append("a.project = ?")
        params.append(query.project)
    if query.trace:
        clauses.append("a.trace_id >= ? AND a.trace_id < ?")
        params.extend([query.trace, query.trace + "\uffff"])
    if query.since:
        clauses.append(f"{table}.created_at >= ?")
        params.append(utc_text(query.since))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _analyses(db: sqlite3.Connection, query: HistoryQuery) -> list[AnalysisEntry]:
    where, params = _filters(query, "a")
    rows = db.execute(
        f"SELECT {_ANALYSIS_COLUMNS} FROM analyses a{where} "
        "ORDER BY a.created_at DESC, a.id DESC LIMIT ?",
        [*params, query.limit + 1],
    ).fetchall()
    names = [c.strip() for c in _ANALYSIS_COLUMNS.split(",")]
    return [AnalysisEntry.model_validate(dict(zip(names, row, strict=True))) for row in rows]


def _changes(db: sqlite3.Connection, query: HistoryQuery) -> list[ChangeEntry]:
    where, params = _filters(query, "c")
    join = " JOIN " if query.project or query.trace else " LEFT JOIN "
    rows = db.execute(
        "SELECT c.id, c.created_at, c.analysis_id, c.hypothesis_rank, c.title, c.commit_sha, "
        f"c.files, c.undone_by, a.project FROM changes c{join}analyses a "
        f"ON a.id = c.analysis_id{where} ORDER BY c.created_at DESC, c.id DESC LIMIT ?",
        [*params, query.limit + 1],
    ).fetchall()
    return [
        ChangeEntry(
            id=row[0], created_at=row[1], analysis_id=row[2], hypothesis_rank=row[3],
            title=row[4], commit=row[5], files=tuple(json.loads(row[6])), undone_by=row[7],
            project=row[8],
        )
        for row in rows
    ]  # fmt: skip


def _changes_of(db: sqlite3.Connection, analysis_ids: list[str]) -> dict[str, tuple[str, ...]]:
    if not analysis_ids:
        return {}
    marks = ",".join("?" * len(analysis_ids))
    rows = db.execute(
        f"SELECT analysis_id, id FROM changes WHERE analysis_id IN ({marks}) ORDER BY created_at",
        analysis_ids,
    ).fetchall()
    led: dict[str, tuple[str, ...]] = {}
    for analysis_id, change_id in rows:
        led[analysis_id] = (*led.get(analysis_id, ()), change_id)
    return led
