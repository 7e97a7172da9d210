"""Saved analyses: ``.refinery/analyses/<id>.json`` plus their rows in the index database.

Each analysis is kept whole, as the JSON object ``analyze --json`` printed (SPEC §5), written
atomically before its rows are indexed; the rows are derived from that document alone, so the
index can always be rebuilt from the files (it is, when the database is new). Other records about
an analysis (a verification, say) sit beside it in ``.refinery/analyses/<id>/<name>.json``.

This module stores documents and answers queries; it does not know the pipeline's models, so the
layers stay one way: the pipeline turns its ``AnalysisResult`` into JSON and back.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..atomic import write_atomic
from ..errors import InputError
from ..models.change import Change
from .db import connect, transaction

ANALYSES_DIR = "analyses"
ID_PREFIX = "an_"
_ID = re.compile(r"^an_[0-9a-f]{4,32}$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


def analyses_dir(state_dir: Path) -> Path:
    """``.refinery/analyses/``."""
    return state_dir / ANALYSES_DIR


def analysis_path(state_dir: Path, analysis_id: str) -> Path:
    """``.refinery/analyses/<id>.json``."""
    return analyses_dir(state_dir) / f"{_checked(analysis_id)}.json"


def utc_text(when: datetime | str) -> str:
    """A timestamp as the index stores it: UTC, fixed width, so text order is time order."""
    value = datetime.fromisoformat(when) if isinstance(when, str) else when
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def save_analysis(state_dir: Path, document: bytes) -> Path:
    """Write an analysis document (new or updated) and index it; returns its file."""
    data = _parse(document)
    path = analysis_path(state_dir, data["analysis_id"])
    write_atomic(path, document)
    with connect(state_dir) as db:
        ensure_indexed(db, state_dir)
        with transaction(db):
            _index(db, data)
    return path


def read_analysis(state_dir: Path, analysis_id: str) -> bytes:
    """The saved document of ``analysis_id`` (a full id)."""
    path = analysis_path(state_dir, analysis_id)
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(
            f"analysis {analysis_id} is indexed but its file {path} is missing",
            "run refinery analyze again",
        ) from exc


def resolve_analysis_id(state_dir: Path, prefix: str | None, *, project: str | None = None) -> str:
    """The full id of the analysis named by a unique prefix, or the latest one when None."""
    if not analyses_dir(state_dir).is_dir():
        raise InputError("no analysis saved here yet", "run refinery analyze first")
    with connect(state_dir) as db:
        ensure_indexed(db, state_dir)
        if prefix is None:
            return _latest(db, project)
        wanted = prefix if prefix.startswith(ID_PREFIX) else ID_PREFIX + prefix
        found = _by_prefix(db, wanted)
        if not found and _index_files(db, state_dir, analyses_dir(state_dir).glob(f"{wanted}*")):
            found = _by_prefix(db, wanted)
    if len(found) > 1:
        raise InputError(
            f"analysis id {prefix} is ambiguous ({', '.join(found)}…)", "give more characters"
        )
    if not found:
        raise InputError(f"no saved analysis {prefix}", "see the ids with refinery history")
    return found[0]


def record_change(state_dir: Path, change: Change) -> None:
    """Index an applied (or undone) change."""
    with connect(state_dir) as db, transaction(db):
        _upsert_change(db, change)


def attachment_path(state_dir: Path, analysis_id: str, name: str) -> Path:
    """``.refinery/analyses/<id>/<name>.json``: another record about the analysis."""
    if not _NAME.match(name):
        raise InputError(f"invalid record name {name!r}", "use lowercase letters, digits, _ or -")
    return analyses_dir(state_dir) / _checked(analysis_id) / f"{name}.json"


def save_attachment(state_dir: Path, analysis_id: str, name: str, document: bytes) -> Path:
    """Write (or replace) record ``name`` beside analysis ``analysis_id``."""
    if not analysis_path(state_dir, analysis_id).is_file():
        raise InputError(f"no saved analysis {analysis_id}", "see the ids with refinery history")
    path = attachment_path(state_dir, analysis_id, name)
    write_atomic(path, document)
    return path


def read_attachment(state_dir: Path, analysis_id: str, name: str) -> bytes | None:
    """Record ``name`` of an analysis, or None when there is none."""
    path = attachment_path(state_dir, analysis_id, name)
    return path.read_bytes() if path.is_file() else None


def _checked(analysis_id: str) -> str:
    if not _ID.match(analysis_id):
        raise InputError(f"{analysis_id!r} is not an analysis id", "see refinery history")
    return analysis_id


def _parse(document: bytes) -> dict[str, Any]:
    data = json.loads(document)
    if not isinstance(data, dict) or not isinstance(data.get("analysis_id"), str):
        raise InputError("an analysis document needs an analysis_id")
    return data


def _latest(db: sqlite3.Connection, project: str | None) -> str:
    sql = "SELECT id FROM analyses {} ORDER BY created_at DESC, id DESC LIMIT 1"
    row = (
        db.execute(sql.format("WHERE project = ?"), (project,)).fetchone()
        if project
        else db.execute(sql.format("")).fetchone()
    )
    if row is None:
        where = f" for project {project}" if project else ""
        raise InputError(f"no saved analysis{where}", "run refinery analyze first")
    return str(row[0])


def _by_prefix(db: sqlite3.Connection, prefix: str) -> list[str]:
    rows = db.execute(
        "SELECT id FROM analyses WHERE id >= ? AND id < ? ORDER BY id LIMIT 3",
        (prefix, prefix + "\uffff"),
    ).fetchall()
    return [str(row[0]) for row in rows]


def ensure_indexed(db: sqlite3.Connection, state_dir: Path) -> None:
    """A new database indexes the analyses saved before it existed (or before it was lost)."""
    if db.execute("SELECT 1 FROM meta WHERE key = 'files_indexed'").fetchone():
        return
    _index_files(db, state_dir, analyses_dir(state_dir).glob("an_*.json"))
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO meta VALUES ('files_indexed', ?)", (utc_text(_now()),))


def _index_files(db: sqlite3.Connection, state_dir: Path, paths: Iterable[Path]) -> int:
    """Index every readable analysis file among ``paths``; unreadable ones are skipped."""
    count = 0
    with transaction(db):
        for path in paths:
            try:
                data = _parse(path.read_bytes())
            except (OSError, ValueError, InputError):
                continue
            if path.name == f"{data['analysis_id']}.json":
                _index(db, data)
                count += 1
    return count


def _index(db: sqlite3.Connection, data: Mapping[str, Any]) -> None:
    diagnosis, usage, analyser = data["diagnosis"], data.get("usage", {}), data["analyser"]
    hypotheses = data.get("hypotheses", [])
    db.execute(
        "INSERT OR REPLACE INTO analyses VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            data["analysis_id"], utc_text(data.get("created_at") or _now()), data["project"],
            data["trace"]["id"], data["trace"]["source"], data["expected"],
            diagnosis["failure_type"], diagnosis["confidence"], analyser["provider"],
            analyser.get("model"), usage.get("cost_usd"), usage.get("input_tokens", 0),
            usage.get("output_tokens", 0), diagnosis["executive_summary"], len(hypotheses),
            sum(1 for h in hypotheses if h.get("valid")),
        ),
    )  # fmt: skip
    db.execute("DELETE FROM hypotheses WHERE analysis_id = ?", (data["analysis_id"],))
    db.executemany(
        "INSERT INTO hypotheses VALUES (?,?,?,?,?,?,?)",
        [
            (
                data["analysis_id"], h["rank"], h["title"], h["strategy"], h["risk"],
                int(bool(h.get("valid"))), json.dumps(sorted({e["file"] for e in h["edits"]})),
            )
            for h in hypotheses
        ],
    )  # fmt: skip


def _upsert_change(db: sqlite3.Connection, change: Change) -> None:
    db.execute(
        "INSERT OR REPLACE INTO changes VALUES (?,?,?,?,?,?,?,?)",
        (
            change.id, change.analysis_id, change.hypothesis_rank, change.hypothesis_title,
            change.commit, utc_text(change.created_at), json.dumps([f.path for f in change.files]),
            change.undone_by,
        ),
    )  # fmt: skip


def sync_changes(db: sqlite3.Connection, state_dir: Path) -> None:
    """Index change records written without the pipeline (``fixes.apply_change`` called directly).

    The folder's modification time tells whether any record was added or rewritten since the last
    sync; it is remembered only once it is a few seconds old, because a write within the same
    clock tick would leave it unchanged.
    """
    from .changes import changes_dir, list_changes

    try:
        mtime = changes_dir(state_dir).stat().st_mtime_ns
    except FileNotFoundError:
        return
    seen = db.execute("SELECT value FROM meta WHERE key = 'changes_mtime'").fetchone()
    if seen is not None and seen[0] == str(mtime):
        return
    try:
        changes = list_changes(state_dir)
    except (InputError, ValidationError):
        return
    with transaction(db):
        for change in changes:
            _upsert_change(db, change)
        if _now().timestamp() * 1e9 - mtime > 3e9:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('changes_mtime', ?)", (str(mtime),))


def _now() -> datetime:
    return datetime.now(UTC)


SNAPSHOTS_DIR = "snapshots"


def save_snapshot(state_dir: Path, data: bytes) -> str:
    """Keep a context file's bytes as analysed, once per content; returns their sha256."""
    digest = hashlib.sha256(data).hexdigest()
    path = state_dir / SNAPSHOTS_DIR / digest
    if not path.is_file():
        write_atomic(path, data)
    return digest


def read_snapshot(state_dir: Path, digest: str) -> bytes | None:
    """The bytes kept under ``digest``, or None when they were not kept."""
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        return None
    path = state_dir / SNAPSHOTS_DIR / digest
    return path.read_bytes() if path.is_file() else None
