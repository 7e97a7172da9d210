"""``refinery analyze`` on a 100,000-run trace, timed as a ratio to ingestion alone (≤ 2×).

Writes the same generated LangSmith trace as ``bench/ingest.py`` into a temporary directory, times
``load_trace_file`` (ingestion alone), then times the whole offline pipeline on the loaded trace
(detectors, condensation, diagnosis, hypotheses, validation) in a temporary repository, so that the
ratio counts only what ``analyze`` adds on top of ingestion. Also prints the stage split.

Usage: python bench/analyze.py [--runs 100000] [--budget 30000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import write_langsmith  # noqa: E402

from refinery.analysis.condense import condense  # noqa: E402
from refinery.analysis.detectors import run_detectors  # noqa: E402
from refinery.analysis.findings import DetectorInput  # noqa: E402
from refinery.config import Settings  # noqa: E402
from refinery.pipeline import AnalyzeOptions, analyze  # noqa: E402
from refinery.traces.sources import load_trace_file  # noqa: E402

EXPECTED = "should tell the customer the forecast service timed out instead of guessing"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--budget", type=int, default=30_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "trace.json"
        with path.open("w", encoding="utf-8") as out:
            write_langsmith(out, args.runs)
        started = time.perf_counter()
        trace = load_trace_file(path)
        load_s = time.perf_counter() - started
        settings = Settings(repo_root=root)
        started = time.perf_counter()
        result = analyze(
            trace, project="bench", expected=EXPECTED, settings=settings,
            options=AnalyzeOptions(budget=args.budget),
        )  # fmt: skip
        analyze_s = time.perf_counter() - started
        stages = _stages(trace, args.budget)
    total = load_s + analyze_s
    print(f"{len(trace):,} runs")
    print(f"ingestion alone      {load_s:7.2f}s")
    print(f"analyze after ingest {analyze_s:7.2f}s  ({', '.join(stages)})")
    print(
        f"refinery analyze end to end {total:.2f}s = {total / load_s:.2f}× ingestion alone "
        "(target ≤ 2×)"
    )
    print(
        f"diagnosis: {result.diagnosis.failure_type.value}, {len(result.findings)} findings, "
        f"{len(result.hypotheses)} hypotheses"
    )


def _stages(trace: object, budget: int) -> list[str]:
    from refinery.traces.model import Trace

    assert isinstance(trace, Trace)
    started = time.perf_counter()
    findings = run_detectors(DetectorInput(trace=trace, expected=EXPECTED))
    detect_s = time.perf_counter() - started
    started = time.perf_counter()
    condense(trace, findings, budget)
    condense_s = time.perf_counter() - started
    return [f"detectors {detect_s:.2f}s", f"condense {condense_s:.2f}s"]


if __name__ == "__main__":
    main()
