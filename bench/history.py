"""Keeping 10,000 analyses: ``history`` pages under 5 ms, ``show`` under 100 ms.

Runs one real offline analysis of the bundled weather agent in a temporary repository, then saves
N-1 more analyses through ``pipeline.save_analysis`` (the same result with a new id, time, project
and trace each, so the index has realistic spread) and applies one fix per 100 analyses' worth of
changes through the library. Then it times, each as the median of many runs in this process:

- a ``history`` page (``pipeline.history``: connect, two indexed queries, merge), unfiltered and
  filtered by project and by trace;
- ``show``: ``pipeline.load_analysis`` by a unique prefix alone, and followed by the same Rich
  rendering as the CLI into a null console (what ``analyze`` itself pays to print);
- the baseline: a bare ``sqlite3`` connect + ``SELECT … ORDER BY created_at DESC LIMIT 20`` on the
  same database, so the ratio says what Refinery adds on top of SQLite itself on this machine.

Usage: python bench/history.py [--analyses 10000] [--page 20]
"""

from __future__ import annotations

import argparse
import io
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from refinery.cli.render_analysis import render_analysis
from refinery.config import Settings
from refinery.pipeline import (
    AnalysisResult,
    AnalyzeOptions,
    ContextRequest,
    analyze,
    history,
    load_analysis,
    save_analysis,
)
from refinery.store.history import HistoryQuery

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROMPT = "examples/weather-agent/prompts/system_prompt.txt"
EXPECTED = "should say the weather service is unavailable instead of guessing"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--analyses", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = _repo(Path(tmp))
        settings = Settings(repo_root=root)
        first = _first(root, settings)
        ids, filled = _fill(settings, first, args.analyses - 1)
        print(filled)
        _report(settings, ids, args.page)


def _repo(root: Path) -> Path:
    shutil.copytree(EXAMPLES, root / "examples")
    for command in (
        ["init", "-q"], ["config", "user.name", "bench"], ["config", "user.email", "b@example.com"],
        ["add", "-A"], ["commit", "-qm", "agent"],
    ):  # fmt: skip
        subprocess.run(["git", "-C", str(root), *command], check=True)
    return root


def _first(root: Path, settings: Settings) -> AnalysisResult:
    return analyze(
        root / "examples/weather-agent/trace.json", project="weather", expected=EXPECTED,
        settings=settings, options=AnalyzeOptions(context=ContextRequest(prompt_files=(PROMPT,))),
    )  # fmt: skip


def _fill(settings: Settings, first: AnalysisResult, count: int) -> tuple[list[str], str]:
    """``count`` more analyses, one a minute back in time, over 20 projects and 500 traces.

    The first 100 go through ``save_analysis`` (timed: two fsyncs and a commit each); the rest are
    written as files, as a copied ``.refinery/`` would hold them, and the index is rebuilt from
    them, as Refinery does when its database is missing (timed too).
    """
    start = datetime.now(UTC)
    ids = [first.analysis_id]
    folder = settings.state_dir / "analyses"
    started = time.perf_counter()
    for index in range(count):
        analysis_id = f"an_{uuid.uuid4().hex[:12]}"
        trace = first.trace.model_copy(update={"id": f"trace-{index % 500:04d}"})
        result = first.model_copy(
            update={
                "analysis_id": analysis_id, "project": f"agent-{index % 20}", "trace": trace,
                "created_at": start - timedelta(minutes=index + 1),
            }
        )  # fmt: skip
        if index < 100:
            save_analysis(settings, result)
            saved_s = time.perf_counter() - started
        else:
            (folder / f"{analysis_id}.json").write_text(result.model_dump_json(indent=1))
        ids.append(analysis_id)
    for name in ("refinery.db", "refinery.db-wal", "refinery.db-shm"):
        (settings.state_dir / name).unlink(missing_ok=True)
    started = time.perf_counter()
    history(settings)
    rebuild_s = time.perf_counter() - started
    return ids, (
        f"save_analysis {saved_s / min(count, 100) * 1000:.1f} ms each; index rebuilt from "
        f"{len(ids):,} files in {rebuild_s:.2f}s"
    )


def _median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm: imports, page cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _report(settings: Settings, ids: list[str], page: int) -> None:
    db = settings.state_dir / "refinery.db"
    bare = _median_ms(lambda: _bare_page(db, page), 300)
    pages = {
        "history page": HistoryQuery(limit=page),
        "history --project": HistoryQuery(project="agent-7", limit=page),
        "history --trace": HistoryQuery(trace="trace-0042", limit=page),
    }
    print(f"{len(ids):,} analyses kept")
    print(f"bare sqlite3 page       {bare:7.3f} ms  (connect + SELECT … LIMIT {page})")
    for name, query in pages.items():
        took = _median_ms(lambda q=query: history(settings, q), 300)  # type: ignore[misc]
        print(f"{name:<23} {took:7.3f} ms  = {took / bare:4.1f}× bare sqlite3 (target < 5 ms)")
    prefix = ids[len(ids) // 2][:8]
    load = _median_ms(lambda: load_analysis(settings, prefix), 100)
    show = _median_ms(lambda: _show(settings, prefix), 30)
    print(f"show: load {prefix:<12} {load:7.3f} ms  = {load / bare:4.1f}× bare sqlite3")
    print(f"show: load + render     {show:7.3f} ms  (target < 100 ms; the render is analyze's own)")


def _bare_page(db: Path, page: int) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(
            "SELECT * FROM analyses ORDER BY created_at DESC LIMIT ?", (page,)
        ).fetchall()
    finally:
        connection.close()


def _show(settings: Settings, prefix: str) -> None:
    console = Console(file=io.StringIO(), width=120, highlight=False)
    render_analysis(load_analysis(settings, prefix), console, as_json=False)


if __name__ == "__main__":
    main()
