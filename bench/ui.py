"""``refinery ui`` on a 50,000-run trace: the analysis page opens in under 1 s.

Writes the big LangSmith trace with ``/work/shared/tools/bigtrace.py`` (or ``--tool``) into a
temporary repository, times ``load_trace`` (the baseline), runs the offline analysis through the
page's own job (not timed against the target), then times, through the app's test client:

- opening the Diagnosis page (summary, first page of the conversation, the run tree's first level);
- opening the root of the run tree (the first page of its 49,999 children);
- opening the Fixes page;
- reopening the analysis after a restart (the trace is parsed again: load + page).

The target is the warm open (< 1 s); every figure is also printed as a ratio to the load time
measured in the same run.

Usage: python bench/ui.py [--runs 50000] [--tool PATH]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from refinery.config import Settings
from refinery.traces.sources import load_trace
from refinery.web import create_app

TOOL = Path("/work/shared/tools/bigtrace.py")
EXPECTED = "should tell the customer the lookup timed out instead of guessing"
BASE = "http://127.0.0.1:8765"
TARGET_SECONDS = 1.0


def _timed(action: Callable[[], str]) -> float:
    return _timed_value(action)[0]


def _timed_value(action: Callable[[], str]) -> tuple[float, str]:
    began = time.perf_counter()
    value = action()
    return time.perf_counter() - began, value


def _client(root: Path) -> tuple[TestClient, str]:
    app = create_app(Settings(env={}, repo_root=root, provider="offline"), port=8765)
    return TestClient(app, base_url=BASE), app.state.csrf_token


def _analyse(client: TestClient, token: str) -> str:
    form = {"csrf_token": token, "project": "big", "expected": EXPECTED, "trace_path": "trace.json"}
    posted = client.post("/analyses", data=form, follow_redirects=False)
    events = client.get(posted.headers["location"] + "/events").text
    found = re.search(r'"url": "(/analysis/an_\w+)"', events)
    if not found:
        sys.exit(f"the analysis did not finish: {events[-400:]}")
    return found[1]


def _get(client: TestClient, path: str) -> str:
    response = client.get(path)
    response.raise_for_status()
    return response.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--tool", type=Path, default=TOOL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        subprocess.run([sys.executable, str(args.tool), str(args.runs), str(root / "trace.json")],
                       check=True, capture_output=True)  # fmt: skip
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        load = _timed(lambda: load_trace(root / "trace.json"))
        client, token = _client(root)
        began = time.perf_counter()
        page = _analyse(client, token)
        analysis = time.perf_counter() - began
        opened, diagnosis_html = _timed_value(lambda: _get(client, page))
        root_id = re.search(r"tree\?parent=([\w-]+)", diagnosis_html)[1]  # type: ignore[index]
        figures = {
            "Diagnosis page": opened,
            "run tree root (first 100 children)": _timed(
                lambda: _get(client, f"{page}/tree?parent={root_id}")
            ),
            "Fixes page": _timed(lambda: _get(client, f"{page}/fixes")),
        }
        cold_client, _ = _client(root)
        figures["reopen after restart (parse + page)"] = _timed(lambda: _get(cold_client, page))
    _report(args.runs, load, analysis, figures)


def _report(runs: int, load: float, analysis: float, figures: dict[str, float]) -> None:
    print(f"{runs:,}-run trace: load_trace {load:.2f} s (baseline); analysis job {analysis:.1f} s")
    for name, seconds in figures.items():
        print(f"  {name:<40} {seconds * 1000:8.0f} ms  ({seconds / load:.2f}x load)")
    opened = figures["Diagnosis page"] + figures["run tree root (first 100 children)"]
    verdict = "OK" if opened < TARGET_SECONDS else "TOO SLOW"
    print(f"open = Diagnosis page + tree root: {opened * 1000:.0f} ms (target < 1 s): {verdict}")
    if opened >= TARGET_SECONDS:
        sys.exit(1)


if __name__ == "__main__":
    main()
