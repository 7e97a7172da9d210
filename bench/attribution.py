"""Attribution: does Refinery name the step (and agent) where a failing run went wrong?

Scores ``diagnosis.divergence`` from the full pipeline (``refinery.pipeline.analyze``) against the
public annotations, each beside trivial baselines measured on the same cases:

- Who&When (both splits): step accuracy (``divergence.position`` == ``mistake_step``, exact match)
  and agent accuracy (``divergence.name`` == ``mistake_agent``), with the ground-truth answer as the
  expected line. Baselines: always step 1; the first agent that speaks.
- TRAIL: location accuracy (the one named run is an annotated error span). Baselines: the first
  failed span; the first LLM span.

The offline analyser always runs; with an LLM key configured (or ``--provider``), the LLM too.
The benchmark data is read where it lies (``../shared/benchmarks``) and never copied.

Usage: python bench/attribution.py [--only whowhen|trail] [--limit N] [--jobs N] [--provider P]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _shared() -> Path:
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "benchmarks").is_dir():
            return parent / "shared"
    raise SystemExit("cannot find ../shared/benchmarks next to this checkout")


BENCH = _shared() / "benchmarks"
WHO = BENCH / "who_and_when" / "Who&When"
TRAIL = BENCH / "trail"
GENERIC = "The agent should complete the task correctly"


@dataclass(frozen=True)
class Case:
    group: str
    path: str
    expected: str
    truth_steps: tuple[int, ...] = ()
    truth_agent: str = ""
    truth_spans: tuple[str, ...] = ()


@dataclass
class Outcome:
    case: Case
    run_id: str | None = None
    position: int | None = None
    name: str = ""
    baselines: dict[str, Any] | None = None
    error: str = ""


def who_cases() -> Iterator[Case]:
    for split in ("Algorithm-Generated", "Hand-Crafted"):
        for path in sorted((WHO / split).glob("*.json"), key=lambda p: (len(p.stem), p.stem)):
            doc = json.loads(path.read_text(encoding="utf-8"))
            yield Case(
                group=f"whowhen/{split}",
                path=str(path),
                expected=f"The final answer should be {doc['ground_truth']}",
                truth_steps=(int(doc["mistake_step"]),),
                truth_agent=str(doc["mistake_agent"]),
            )


def trail_cases() -> Iterator[Case]:
    for split, notes in (("GAIA", "gaia"), ("SWE Bench", "swe_bench")):
        for path in sorted((TRAIL / "data" / split).glob("*.json")):
            note = TRAIL / f"processed_annotations_{notes}" / path.name
            if not note.exists():
                continue
            text = note.read_text(encoding="utf-8")
            try:
                doc = json.loads(text)
            except ValueError:  # one upstream file has a trailing comma
                doc = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
            spans = tuple(str(e.get("location", "")).strip() for e in doc.get("errors", []))
            yield Case(group=f"trail/{split}", path=str(path), expected=GENERIC, truth_spans=spans)


def run_case(case: Case, provider: str) -> Outcome:
    from refinery.config import load_settings
    from refinery.pipeline import AnalyzeOptions, ContextRequest, analyze
    from refinery.traces.sources import load_trace

    out = Outcome(case=case)
    with tempfile.TemporaryDirectory() as tmp:
        git = ["git", "-C", tmp, "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "init"], check=True)
        settings = load_settings(repo_root=Path(tmp), provider=provider)
        try:
            trace = load_trace(case.path, settings)
            out.baselines = _baselines(trace)
            options = AnalyzeOptions(allow_dirty=True, context=ContextRequest(cwd=Path(tmp)))
            result = analyze(
                trace, project="bench", expected=case.expected, settings=settings, options=options
            )
        except Exception as exc:  # a benchmark reports every failure and goes on
            out.error = f"{type(exc).__name__}: {str(exc)[:160]}"
            return out
    divergence = result.diagnosis.divergence
    if divergence is not None:
        out.run_id, out.position, out.name = divergence.run_id, divergence.position, divergence.name
    return out


def _baselines(trace: Any) -> dict[str, Any]:
    turns = [r for r in trace.runs if r.id.startswith("msg-")]
    failed = [r.id for r in trace.runs if r.failed]
    llm = [r.id for r in trace.runs if r.kind.value == "llm"]
    return {
        "first agent": turns[0].name if turns else "",
        "first failed span": failed[0] if failed else None,
        "first LLM span": llm[0] if llm else None,
    }


def _pct(hit: int, total: int) -> str:
    return f"{hit}/{total} ({100 * hit / total:.1f}%)" if total else "n/a"


def report_who(group: str, items: list[Outcome]) -> None:
    n = len(items)
    step = sum(o.position in o.case.truth_steps for o in items)
    agent = sum(o.name.lower() == o.case.truth_agent.lower() for o in items)
    step1 = sum(1 in o.case.truth_steps for o in items)
    first = sum(
        (o.baselines or {}).get("first agent", "").lower() == o.case.truth_agent.lower()
        for o in items
    )
    print(f"{group}: {n} cases, {sum(bool(o.error) for o in items)} errors")
    print(f"  step accuracy : ours {_pct(step, n)}   always step 1 {_pct(step1, n)}")
    print(f"  agent accuracy: ours {_pct(agent, n)}   first agent {_pct(first, n)}")


def report_trail(group: str, items: list[Outcome]) -> None:
    n = len(items)
    ours = sum(o.run_id in o.case.truth_spans for o in items)
    base = {
        name: sum((o.baselines or {}).get(name) in o.case.truth_spans for o in items)
        for name in ("first failed span", "first LLM span")
    }
    print(f"{group}: {n} annotated traces, {sum(bool(o.error) for o in items)} errors")
    line = "   ".join(f"{k} {_pct(v, n)}" for k, v in base.items())
    print(f"  location accuracy (one step named): ours {_pct(ours, n)}   {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("whowhen", "trail"))
    parser.add_argument("--limit", type=int, default=0, help="cases per group (0 = all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--provider", default="offline", help="offline (default) or an LLM")
    args = parser.parse_args()
    cases: list[Case] = []
    if args.only in (None, "whowhen"):
        cases += list(who_cases())
    if args.only in (None, "trail"):
        cases += list(trail_cases())
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.group, []).append(case)
    chosen = [c for g in groups.values() for c in (g[: args.limit] if args.limit else g)]
    print(f"analyser: {args.provider}; {len(chosen)} cases")
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(run_case, chosen, [args.provider] * len(chosen), chunksize=4))
    by_group: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_group.setdefault(outcome.case.group, []).append(outcome)
    for group, items in by_group.items():
        (report_who if group.startswith("whowhen") else report_trail)(group, items)


if __name__ == "__main__":
    main()
