"""The index database: ``.refinery/refinery.db``, SQLite in WAL mode with a versioned schema.

The JSON files under ``.refinery/`` (analyses, change records) are the record; this database only
indexes them so that ``history`` and id lookups stay fast with thousands of analyses. It uses
Python's own ``sqlite3``: WAL lets readers work while one process writes, ``busy_timeout`` makes a
second writer wait its turn instead of failing, and every write is one transaction, so a killed
process leaves either all of an analysis' rows or none.

The schema version is ``PRAGMA user_version``; ``MIGRATIONS[i]`` takes version ``i`` to ``i + 1``
and runs in the same transaction that bumps the version. A file that is not a SQLite database, not
Refinery's (``PRAGMA application_id``), or written by a newer Refinery is refused with one line and
never written to: the user's data matters more than the index, which can be rebuilt from the files.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError

DB_NAME = "refinery.db"
APPLICATION_ID = 0x52464E59
"""``RFNY``: marks the file as Refinery's, so a stray SQLite file is never migrated."""
BUSY_TIMEOUT_MS = 10_000

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []
migration = MIGRATIONS.append


@migration
def _v1(db: sqlite3.Connection) -> None:
    """Analyses with their hypotheses, and applied changes with their undos."""
    for statement in (
        """CREATE TABLE analyses (
            id TEXT PRIMARY KEY, created_at TEXT NOT NULL, project TEXT NOT NULL,
            trace_id TEXT NOT NULL, trace_source TEXT NOT NULL, expected TEXT NOT NULL,
            failure_type TEXT NOT NULL, confidence TEXT NOT NULL, analyser TEXT NOT NULL,
            model TEXT, cost_usd REAL, input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL, summary TEXT NOT NULL,
            hypotheses INTEGER NOT NULL, valid_hypotheses INTEGER NOT NULL)""",
        "CREATE INDEX analyses_by_time ON analyses (created_at, id)",
        "CREATE INDEX analyses_by_project ON analyses (project, created_at, id)",
        "CREATE INDEX analyses_by_trace ON analyses (trace_id, created_at, id)",
        "CREATE INDEX analyses_by_failure ON analyses (failure_type, created_at)",
        """CREATE TABLE hypotheses (
            analysis_id TEXT NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
            rank INTEGER NOT NULL, title TEXT NOT NULL, strategy TEXT NOT NULL,
            risk TEXT NOT NULL, valid INTEGER NOT NULL, files TEXT NOT NULL,
            PRIMARY KEY (analysis_id, rank))""",
        """CREATE TABLE changes (
            id TEXT PRIMARY KEY, analysis_id TEXT NOT NULL, hypothesis_rank INTEGER NOT NULL,
            title TEXT NOT NULL, commit_sha TEXT NOT NULL, created_at TEXT NOT NULL,
            files TEXT NOT NULL, undone_by TEXT)""",
        "CREATE INDEX changes_by_time ON changes (created_at, id)",
        "CREATE INDEX changes_by_analysis ON changes (analysis_id)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ):
        db.execute(statement)


SCHEMA_VERSION = len(MIGRATIONS)


def db_path(state_dir: Path) -> Path:
    """``.refinery/refinery.db``."""
    return state_dir / DB_NAME


@contextmanager
def connect(state_dir: Path) -> Iterator[sqlite3.Connection]:
    """An open, migrated connection to the index; ConfigError when the file cannot be used."""
    path = db_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        _prepare_when_free(db, path)
        yield db
    except sqlite3.DatabaseError as exc:
        raise _unusable(path, exc) from exc
    finally:
        db.close()


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: all of the block's writes land or none, even if killed."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _prepare_when_free(db: sqlite3.Connection, path: Path) -> None:
    """``_prepare``, waiting out the moments SQLite answers "locked" without its busy handler.

    Switching a new file to WAL, or a first migration racing another process, can be refused at
    once rather than waited for; the busy timeout is honoured here instead.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            _prepare(db, path)
            return
        except (sqlite3.OperationalError, ConfigError) as exc:
            locked = "locked" in str(exc) or "busy" in str(exc)
            if not locked or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    """Check the file is ours and current, switch to WAL, migrate if it is older."""
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        version, app_id = _identity(db)
    except sqlite3.DatabaseError as exc:
        raise _unusable(path, exc) from exc
    _check_identity(db, path, version, app_id)
    if version == SCHEMA_VERSION:
        return
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode=WAL")
    with transaction(db):
        # Read again under the write lock: another process may have migrated meanwhile.
        version, _ = _identity(db)
        for step in MIGRATIONS[version:]:
            step(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _identity(db: sqlite3.Connection) -> tuple[int, int]:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
    return version, app_id


def _check_identity(db: sqlite3.Connection, path: Path, version: int, app_id: int) -> None:
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"{path} was written by a newer Refinery (schema {version}, this one knows up to "
            f"{SCHEMA_VERSION}); it was left untouched",
            "upgrade refinery (pip install -U refinery)",
        )
    foreign = app_id not in (0, APPLICATION_ID) or (
        app_id == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    )
    if foreign:
        raise ConfigError(
            f"{path} is not Refinery's database; it was left untouched",
            f"move it away and Refinery creates a new index ({_REBUILD})",
        )


_REBUILD = "saved analyses are re-indexed from .refinery/analyses/"


def _unusable(path: Path, exc: sqlite3.DatabaseError) -> ConfigError:
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return ConfigError(
            f"{path} is locked by another Refinery process", "try again when it has finished"
        )
    return ConfigError(
        f"{path} is unreadable ({exc}); it was left untouched",
        f"move it away and Refinery creates a new index ({_REBUILD})",
    )
