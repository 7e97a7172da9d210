"""The analyses index: prefixes, rebuild from the files, migrations, concurrency and faults."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from refinery.errors import ConfigError, InputError
from refinery.store import db as dbmod
from refinery.store.analyses import (
    analyses_dir,
    read_analysis,
    resolve_analysis_id,
    save_analysis,
)
from refinery.store.history import HistoryQuery, read_history


def document(analysis_id: str, *, project: str = "support", minute: int = 0) -> bytes:
    """A saved analysis as ``analyze --json`` prints it (the fields the index reads)."""
    return json.dumps({
        "analysis_id": analysis_id, "created_at": f"2026-11-30T10:{minute:02d}:00Z",
        "project": project, "expected": "escalate refunds",
        "trace": {"id": f"trace-{minute}", "source": "file", "format": "langsmith-runs", "runs": 4},
        "analyser": {"provider": "offline", "model": None, "prompt_version": None},
        "diagnosis": {"failure_type": "instruction_gap", "confidence": "high",
                      "executive_summary": "The assistant promised a refund."},
        "hypotheses": [
            {"rank": 1, "title": "Add the refund rule", "strategy": "add_rule", "risk": "low",
             "valid": True,
             "edits": [{"file": "prompts/system.txt", "search": "a", "replace": "b"}]},
            {"rank": 2, "title": "Add an eval", "strategy": "add_eval", "risk": "low",
             "valid": False, "edits": []},
        ],
        "usage": {"llm_calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": None},
    }).encode()  # fmt: skip


def test_unique_prefix_finds_an_analysis_and_an_ambiguous_one_says_so(tmp_path: Path) -> None:
    for analysis_id in ("an_abc111000000", "an_abc222000000", "an_def000000000"):
        save_analysis(tmp_path, document(analysis_id))
    assert resolve_analysis_id(tmp_path, "abc1") == "an_abc111000000"
    assert resolve_analysis_id(tmp_path, "an_def") == "an_def000000000"
    with pytest.raises(InputError) as ambiguous:
        resolve_analysis_id(tmp_path, "an_abc")
    assert str(ambiguous.value) == (
        "analysis id an_abc is ambiguous (an_abc111000000, an_abc222000000…): give more characters"
    )


def test_latest_is_by_time_and_by_project(tmp_path: Path) -> None:
    save_analysis(tmp_path, document("an_000000000001", minute=5))
    save_analysis(tmp_path, document("an_000000000002", minute=1, project="billing"))
    assert resolve_analysis_id(tmp_path, None) == "an_000000000001"
    assert resolve_analysis_id(tmp_path, None, project="billing") == "an_000000000002"


def test_a_lost_database_is_rebuilt_from_the_saved_files(tmp_path: Path) -> None:
    save_analysis(tmp_path, document("an_000000000001"))
    save_analysis(tmp_path, document("an_000000000002", minute=3))
    for name in ("refinery.db", "refinery.db-wal", "refinery.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    page = read_history(tmp_path, HistoryQuery())
    assert [e.id for e in page.entries] == ["an_000000000002", "an_000000000001"]
    assert page.entries[0].valid_hypotheses == 1 and page.entries[0].hypotheses == 2


def test_a_file_saved_but_not_indexed_is_found_by_its_id(tmp_path: Path) -> None:
    save_analysis(tmp_path, document("an_000000000001"))
    orphan = analyses_dir(tmp_path) / "an_00000000abcd.json"
    orphan.write_bytes(document("an_00000000abcd"))  # as if killed before the index write
    assert resolve_analysis_id(tmp_path, "an_00000000ab") == "an_00000000abcd"
    assert read_analysis(tmp_path, "an_00000000abcd") == orphan.read_bytes()


def test_corrupt_database_is_one_line_and_left_untouched(tmp_path: Path) -> None:
    garbage = b"this is not a database, it is a shopping list\n" * 100
    (tmp_path / "refinery.db").write_bytes(garbage)
    with pytest.raises(ConfigError) as error:
        save_analysis(tmp_path, document("an_000000000001"))
    assert str(error.value) == (
        f"{tmp_path / 'refinery.db'} is unreadable (file is not a database); it was left "
        "untouched: move it away and Refinery creates a new index (saved analyses are "
        "re-indexed from .refinery/analyses/)"
    )
    assert (tmp_path / "refinery.db").read_bytes() == garbage


def test_newer_schema_is_refused_and_never_written(tmp_path: Path) -> None:
    path = tmp_path / "refinery.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE future (x)")
        db.execute(f"PRAGMA application_id = {dbmod.APPLICATION_ID}")
        db.execute("PRAGMA user_version = 99")
    before = path.read_bytes()
    with pytest.raises(ConfigError) as error:
        read_history(tmp_path, HistoryQuery())
    assert str(error.value) == (
        f"{path} was written by a newer Refinery (schema 99, this one knows up to "
        f"{dbmod.SCHEMA_VERSION}); it was left untouched: upgrade refinery (pip install -U "
        "refinery)"
    )
    assert path.read_bytes() == before


def test_someone_elses_sqlite_file_is_not_migrated(tmp_path: Path) -> None:
    path = tmp_path / "refinery.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE recipes (name TEXT)")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="is not Refinery's database; it was left untouched"):
        read_history(tmp_path, HistoryQuery())
    assert path.read_bytes() == before


def test_an_older_schema_is_migrated_keeping_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_analysis(tmp_path, document("an_000000000001"))

    def v2(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE analyses ADD COLUMN verified INTEGER")

    monkeypatch.setattr(dbmod, "MIGRATIONS", [*dbmod.MIGRATIONS, v2])
    monkeypatch.setattr(dbmod, "SCHEMA_VERSION", 2)
    with dbmod.connect(tmp_path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
        assert db.execute("SELECT id, verified FROM analyses").fetchall() == [
            ("an_000000000001", None)
        ]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _save_many(state_dir: str, worker: int, count: int, start: Any) -> None:
    start.wait()
    for index in range(count):
        save_analysis(Path(state_dir), document(f"an_{worker:04x}{index:08x}", minute=index % 60))


def test_analyses_finishing_at_once_all_land(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    start = context.Barrier(4)
    workers = [
        context.Process(target=_save_many, args=(str(tmp_path), worker, 15, start))
        for worker in range(4)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(30)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    with dbmod.connect(tmp_path) as db:
        assert db.execute("SELECT count(*) FROM analyses").fetchone() == (60,)
        assert db.execute("SELECT count(*) FROM hypotheses").fetchone() == (120,)


def _save_forever(state_dir: str) -> None:
    index = 0
    while True:
        save_analysis(Path(state_dir), document(f"an_{index:012x}", minute=index % 60))
        index += 1


def test_a_killed_process_leaves_the_database_consistent(tmp_path: Path) -> None:
    save_analysis(tmp_path, document("an_ffffffffffff"))  # the schema exists before the kill
    process = multiprocessing.get_context("fork").Process(
        target=_save_forever, args=(str(tmp_path),)
    )
    process.start()
    deadline = time.monotonic() + 10
    while len(list(analyses_dir(tmp_path).glob("*.json"))) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)
    with dbmod.connect(tmp_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        partial = db.execute(
            "SELECT a.id FROM analyses a LEFT JOIN hypotheses h ON h.analysis_id = a.id "
            "GROUP BY a.id HAVING count(h.rank) != 2"
        ).fetchall()
        indexed = {row[0] for row in db.execute("SELECT id FROM analyses")}
    assert partial == []
    assert len(indexed) >= 19  # all 20 files but the one whose index write was cut short
    assert all((analyses_dir(tmp_path) / f"{i}.json").is_file() for i in indexed)
    save_analysis(tmp_path, document("an_eeeeeeeeeeee"))  # and it keeps working
