"""Ingest every TRAIL trace (GAIA and SWE Bench) read in place from ../shared/benchmarks/trail/data.

Prints how many files parse (target: all 139), runs per trace (min / median / max), error spans
found (runs with ``failed`` True), the formats detected, each failure's one-line error, and the
token-analysis health labels. The data is read where it lies and never copied.

Usage: python bench/trail_ingest.py [DATA_DIR]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from refinery.analysis.tokens import analyse_tokens
from refinery.errors import RefineryError
from refinery.traces.sources import load_trace_file

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "trail" / "data"


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    files = sorted(p for p in data.rglob("*.json") if p.is_file())
    runs: list[int] = []
    failed: list[int] = []
    formats: Counter[str] = Counter()
    health: Counter[str] = Counter()
    errors: list[str] = []
    started = time.perf_counter()
    for path in files:
        try:
            trace = load_trace_file(path)
        except RefineryError as exc:
            errors.append(f"{path.parent.name}/{path.name}: {exc}")
            continue
        runs.append(len(trace))
        failed.append(sum(run.failed for run in trace.runs))
        formats[trace.format] += 1
        health[analyse_tokens(trace).health.label.value] += 1
    elapsed = time.perf_counter() - started
    by_split = Counter(p.parent.name for p in files)
    print(f"TRAIL: {len(runs)}/{len(files)} traces parse ({dict(by_split)}) in {elapsed:.1f}s")
    if runs:
        print(
            f"runs per trace: min {min(runs)}, median {statistics.median(runs):g}, max {max(runs)}"
            f"; total {sum(runs):,}"
        )
        print(
            f"error spans: {sum(failed):,} in {sum(1 for f in failed if f)} traces "
            f"(per trace: median {statistics.median(failed):g}, max {max(failed)})"
        )
        print(f"formats: {dict(formats)}; token health: {dict(health)}")
    for line in errors:
        print(f"  failed: {line}")


if __name__ == "__main__":
    main()
