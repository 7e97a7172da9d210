"""Robustness sweep: the offline pipeline over every shared fixture and benchmark trace.

Runs ``refinery.pipeline.analyze`` (offline analyser) on each trace of ``../shared/fixtures`` and
``../shared/benchmarks`` (TRAIL, Who&When, AgentRx), each in a throwaway repository so nothing is
written into this one, with an expected behaviour taken from what the benchmark itself provides
(tau-bench outputs/actions, Who&When ground truth, a generic sentence for TRAIL). It records per
trace whether it loads, whether analysis raises, the time, the failure type, the number of
findings and hypotheses and whether every evidence quote is verified; then prints totals.

For TRAIL it also scores localisation (does a diagnosis evidence run, or a high-severity finding's
run, hit an annotated error span?) and category agreement (is the failure type one of the
annotated categories mapped to our taxonomy?), each beside a trivial baseline.

The data is read where it lies and never copied.

Usage: python bench/sweep.py [--only trail|whowhen|agentrx|fixtures] [--context extract|none]
       [--jobs N] [--limit N] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = SHARED / "fixtures"
BENCH = SHARED / "benchmarks"
TRAIL = BENCH / "trail"
GENERIC = "The agent should complete the task correctly"

# TRAIL's annotation categories (as spelled in the data, case and plural folded) → our taxonomy.
TRAIL_TO_OURS: dict[str, tuple[str, ...]] = {
    "formatting error": ("output_format",),
    "instruction non-compliance": ("instruction_not_followed", "instruction_gap"),
    "instruction non complience": ("instruction_not_followed", "instruction_gap"),
    "goal deviation": ("orchestration_issue", "instruction_not_followed"),
    "task orchestration": ("orchestration_issue",),
    "task orchestration error": ("orchestration_issue",),
    "resource abuse": ("orchestration_issue", "tool_error"),
    "tool-related": ("tool_error",),
    "tool selection error": ("tool_error", "orchestration_issue"),
    "tool selection": ("tool_error", "orchestration_issue"),
    "tool definition issue": ("tool_error",),
    "tool output misinterpretation": ("tool_error", "model_limitation"),
    "language-only": ("model_limitation",),
    "context handling failure": ("context_issue",),
    "incorrect memory usage": ("context_issue",),
    "poor information retrieval": ("retrieval_issue",),
    "incorrect problem identification": ("model_limitation", "instruction_gap"),
    "environment setup error": ("infrastructure", "tool_error"),
    "resource not found": ("tool_error", "infrastructure"),
    "authentication error": ("infrastructure", "tool_error"),
    "resource exhaustion": ("infrastructure",),
    "service error": ("infrastructure",),
    "timeout issue": ("infrastructure",),
}


@dataclass(frozen=True, kw_only=True)
class Case:
    """One trace to analyse."""

    group: str
    ref: str
    expected: str
    annotations: str | None = None
    """Path of TRAIL's annotation file for this trace."""


@dataclass(kw_only=True)
class Outcome:
    """What happened to one trace."""

    group: str
    ref: str
    load_error: str | None = None
    format: str | None = None
    runs: int = 0
    error: str | None = None
    seconds: float = 0.0
    load_seconds: float = 0.0
    failure_type: str | None = None
    confidence: str | None = None
    findings: int = 0
    hypotheses: int = 0
    valid_hypotheses: int = 0
    evidence: int = 0
    verified: bool = True
    problems: list[str] = field(default_factory=list)
    """Quality problems spotted in the output (duplicate titles, unverified quotes...)."""
    hit_runs: list[str] = field(default_factory=list)
    """Diagnosis evidence runs and high-severity finding runs (for localisation)."""
    baselines: dict[str, list[str]] = field(default_factory=dict)
    """Trivial localisation guesses: first failed span, all failed spans, first/last LLM span."""
    executive: str = ""


def cases(only: str | None) -> Iterator[Case]:
    """Every trace of the shared data, with the expectation its benchmark provides."""
    groups = {
        "fixtures": _fixtures,
        "trail": _trail,
        "whowhen": _who_and_when,
        "agentrx": _agentrx,
    }
    for name, make in groups.items():
        if only in (None, name):
            yield from make()


def _fixtures() -> Iterator[Case]:
    for path in sorted(FIXTURES.rglob("*.json*")):
        if "who-and-when" in path.parts or "tau-bench" in path.parts:
            continue
        yield Case(group="fixtures", ref=str(path), expected=GENERIC)
    yield from _tau(FIXTURES / "tau-bench" / "gpt-4o-airline.failed-subset.json", "fixtures")
    for path in sorted((FIXTURES / "who-and-when").rglob("*.json")):
        yield Case(group="fixtures", ref=str(path), expected=_who_expected(path))


def _tau(path: Path, group: str) -> Iterator[Case]:
    for index, item in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        task = (item.get("info") or {}).get("task") or {}
        outputs = [str(o) for o in task.get("outputs") or []]
        actions = [a.get("name", "") for a in task.get("actions") or []]
        if outputs:
            expected = f"The agent should tell the user {', '.join(outputs)}"
        elif actions:
            expected = f"The agent should call {', '.join(actions)} to resolve the request"
        else:
            expected = GENERIC
        yield Case(group=group, ref=f"{path}#{index}", expected=expected)


def _trail() -> Iterator[Case]:
    for split, notes in (("GAIA", "gaia"), ("SWE Bench", "swe_bench")):
        for path in sorted((TRAIL / "data" / split).glob("*.json")):
            note = TRAIL / f"processed_annotations_{notes}" / path.name
            yield Case(
                group="trail",
                ref=str(path),
                expected=GENERIC,
                annotations=str(note) if note.exists() else None,
            )


def _who_expected(path: Path) -> str:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return GENERIC
    if not isinstance(doc, dict):  # AgentRx's magentic files are the bare message history
        return GENERIC
    truth = str(doc.get("ground_truth") or "").strip()
    return f"The final answer should be {truth}" if truth else GENERIC


def _who_and_when() -> Iterator[Case]:
    for split in ("Algorithm-Generated", "Hand-Crafted"):
        folder = BENCH / "who_and_when" / "Who&When" / split
        for path in sorted(folder.glob("*.json"), key=lambda p: (len(p.stem), p.stem)):
            yield Case(group="whowhen", ref=str(path), expected=_who_expected(path))


def _agentrx() -> Iterator[Case]:
    root = BENCH / "agentrx"
    yield from _tau(root / "data" / "tau_retail" / "tau_dataset_failed.json", "agentrx")
    for path in sorted((root / "data" / "magentic_dataset").glob("*.json")):
        if path.name == "steps_by_id.json":  # an index of the steps, not a trajectory
            continue
        yield Case(group="agentrx", ref=str(path), expected=_who_expected(path))
    for path in sorted((root / "trajectories").rglob("*.json")):
        if path.name != "trajectories_info.json":
            yield Case(group="agentrx", ref=str(path), expected=GENERIC)


def run_case(case: Case, context: str) -> Outcome:
    """Load and analyse one trace in a throwaway repository."""
    from refinery.config import load_settings
    from refinery.errors import RefineryError
    from refinery.pipeline import AnalyzeOptions, ContextRequest, analyze
    from refinery.traces.sources import load_trace

    out = Outcome(group=case.group, ref=case.ref)
    with tempfile.TemporaryDirectory() as tmp:
        _git_repo(tmp)
        settings = load_settings(repo_root=Path(tmp))
        started = time.perf_counter()
        try:
            trace = load_trace(case.ref, settings)
        except RefineryError as exc:
            out.load_error = str(exc).splitlines()[0][:200]
            return out
        except Exception as exc:
            out.load_error = f"CRASH {type(exc).__name__}: {str(exc)[:160]}"
            return out
        out.load_seconds = time.perf_counter() - started
        out.format, out.runs = trace.format, len(trace)
        out.baselines = _baselines(trace)
        options = AnalyzeOptions(
            allow_dirty=True,
            context=ContextRequest(extract_from_trace=context == "extract", cwd=Path(tmp)),
        )
        started = time.perf_counter()
        try:
            result = analyze(
                trace,
                project="sweep",
                expected=case.expected,
                settings=settings,
                options=options,
            )
        except Exception as exc:
            out.seconds = time.perf_counter() - started
            kind = "RefineryError" if isinstance(exc, RefineryError) else "CRASH"
            where = traceback.extract_tb(exc.__traceback__)[-1]
            out.error = (
                f"{kind} {type(exc).__name__}: {str(exc)[:160]} "
                f"@{Path(where.filename).name}:{where.lineno}"
            )
            return out
        out.seconds = time.perf_counter() - started
    _score(out, result)
    return out


def _baselines(trace: Any) -> dict[str, list[str]]:
    failed = [r.id for r in trace.runs if r.failed]
    llm = [r.id for r in trace.runs if r.kind.value == "llm"]
    return {
        "first failed span": failed[:1],
        "every failed span": failed,
        "first LLM span": llm[:1],
        "last LLM span": llm[-1:],
    }


def _git_repo(tmp: str) -> None:
    """A throwaway repository with one commit, as ``--apply``'s dry run requires."""
    git = ["git", "-C", tmp, "-c", "user.name=sweep", "-c", "user.email=sweep@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "init"], check=True)


def _score(out: Outcome, result: Any) -> None:
    diagnosis = result.diagnosis
    out.failure_type = diagnosis.failure_type.value
    out.confidence = diagnosis.confidence.value
    out.findings = len(result.findings)
    out.hypotheses = len(result.hypotheses)
    # Extracted files are new to git, which only ``--apply`` cares about: count edits that place.
    out.valid_hypotheses = sum(
        bool(h.edits) and all("git" in p or "commit" in p for p in h.problems)
        for h in result.hypotheses
    )
    out.evidence = len(diagnosis.evidence)
    out.verified = all(e.verified for e in diagnosis.evidence)
    out.executive = diagnosis.executive_summary
    high = [f.run_id for f in result.findings if f.severity.value == "high"]
    out.hit_runs = list(dict.fromkeys([*(e.run_id for e in diagnosis.evidence), *high]))
    out.problems = list(_quality(result))


def _quality(result: Any) -> Iterator[str]:
    diagnosis = result.diagnosis
    titles = [h.title for h in result.hypotheses]
    if len(set(titles)) < len(titles):
        yield "duplicate hypothesis titles"
    strategies = [h.strategy for h in result.hypotheses]
    if len(set(strategies)) < len(strategies):
        yield "duplicate strategies"
    yield from _evidence_problems(diagnosis)
    yield from _text_problems(result)


def _evidence_problems(diagnosis: Any) -> Iterator[str]:
    for e in diagnosis.evidence:
        if not e.verified:
            yield f"unverified quote on {e.run_id}: {e.quote[:60]!r}"
    if not diagnosis.evidence:
        yield "no evidence"


def _text_problems(result: Any) -> Iterator[str]:
    diagnosis = result.diagnosis
    texts = {
        "root_cause": diagnosis.root_cause,
        "executive_summary": diagnosis.executive_summary,
        "gap": diagnosis.gap,
        "affected_component": diagnosis.affected_component,
    }
    for name, text in texts.items():
        if _BAD.search(_QUOTED.sub('""', text)):
            yield f"{name} reads badly: {text[:100]!r}"
        if len(text) > 1500:
            yield f"{name} is {len(text)} chars long"
    for h in result.hypotheses:
        for edit in h.edits:
            added = edit.replace[len(edit.search) :] if h.strategy != "add_eval" else ""
            if _BAD.search(_QUOTED.sub('""', added)):
                yield f"hypothesis {h.rank} edit reads badly: {added[-120:]!r}"
            if h.strategy in _PROMPT_STRATEGIES:
                yield from _unreadable(h.rank, added.strip(), result)


_PROMPT_STRATEGIES = {
    "add_rule", "failure_handling_rule", "reposition_rule", "add_example", "model_guidance",
}  # fmt: skip


def _unreadable(rank: int, added: str, result: Any) -> Iterator[str]:
    """The offline readability check (no dangling words, leftovers, pasted line, run ids)."""
    from refinery.analysis.offline.rule_text import readability_problems

    run_ids = frozenset(f.run_id for f in result.findings) | {
        e.run_id for e in result.diagnosis.evidence
    }
    for problem in readability_problems(added, result.expected, run_ids=run_ids):
        yield f"hypothesis {rank} unreadable: {problem}"


_BAD = re.compile(r"\{\w+\}|(?<!\.)\.\.(?!\.)|\s[,.;:]\s|\bNone\b|\s\.$|,\.")
"""Unfilled placeholders, doubled or floating punctuation: text assembled badly."""
_QUOTED = re.compile(r'"[^"]*"|“[^”]*”')
"""Quoted trace text, which may be as odd as it likes."""


def _trail_truth(path: str) -> tuple[set[str], set[str]]:
    """(annotated error span ids, our failure types for the annotated categories)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except ValueError:  # one upstream file has a trailing comma
        doc = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
    locations = {str(e.get("location", "")).strip() for e in doc.get("errors", [])}
    ours: set[str] = set()
    for e in doc.get("errors", []):
        name = str(e.get("category", "")).strip().lower().rstrip("s")
        ours.update(TRAIL_TO_OURS.get(name, ()))
        if name not in TRAIL_TO_OURS:
            print(f"  unmapped TRAIL category: {e.get('category')!r}")
    return locations - {""}, ours


def report(outcomes: list[Outcome], cases_by_ref: dict[str, Case], verbose: bool) -> None:
    """Print per-group totals, the TRAIL scores, and every crash and quality problem."""
    for group in dict.fromkeys(o.group for o in outcomes):
        _group_report(group, [o for o in outcomes if o.group == group], verbose)
    trail = [o for o in outcomes if o.group == "trail"]
    if trail:
        _trail_report(trail, cases_by_ref)
    _group_report("ALL", outcomes, verbose=False)


def _group_report(group: str, items: list[Outcome], verbose: bool) -> None:
    loaded = [o for o in items if o.load_error is None]
    done = [o for o in loaded if o.error is None]
    crashes = [o for o in items if (o.error or "").startswith("CRASH")]
    crashes += [o for o in items if (o.load_error or "").startswith("CRASH")]
    times = [o.seconds for o in done] or [0.0]
    print(f"\n== {group}: {len(items)} traces")
    print(
        f"  load ok {len(loaded)}/{len(items)}; analyze ok {len(done)}/{len(loaded)}; "
        f"crashes {len(crashes)}; refused {len(loaded) - len(done) - len(crashes)}"
    )
    good = sum(3 <= o.hypotheses <= 5 for o in done)
    valid = sum(o.valid_hypotheses > 0 for o in done)
    print(f"  3-5 hypotheses {good}/{len(done)}; ≥1 placeable hypothesis {valid}/{len(done)}")
    print(f"  all evidence verified {sum(o.verified for o in done)}/{len(done)}")
    print(f"  time median {statistics.median(times):.2f}s max {max(times):.2f}s")
    print(f"  failure types {dict(Counter(o.failure_type for o in done).most_common())}")
    problems = Counter(p.split(":")[0] for o in done for p in o.problems)
    print(f"  quality problems {dict(problems.most_common())}")
    for o in items:
        if o.load_error and (verbose or group != "ALL"):
            print(f"    LOAD {Path(o.ref).name}: {o.load_error}")
        if o.error and group != "ALL":
            print(f"    FAIL {Path(o.ref).name}: {o.error}")
        if verbose and o.problems:
            print(f"    {Path(o.ref).name}: {o.problems[:3]}")
    slow = sorted(done, key=lambda o: -o.seconds)[:3]
    print(
        "  slowest "
        + ", ".join(f"{Path(o.ref).name[:16]} {o.seconds:.1f}s/{o.runs}r" for o in slow)
    )


def _trail_report(items: list[Outcome], cases_by_ref: dict[str, Case]) -> None:
    done = [o for o in items if o.error is None and o.load_error is None]
    hit = agree = scored = 0
    base_hits: Counter[str] = Counter()
    named: list[int] = []
    truths: list[set[str]] = []
    for o in done:
        note = cases_by_ref[o.ref].annotations
        if note is None:
            continue
        locations, ours = _trail_truth(note)
        if not locations:
            continue
        scored += 1
        truths.append(ours)
        hit += bool(locations & set(o.hit_runs))
        named.append(len(o.hit_runs))
        for name, guess in o.baselines.items():
            base_hits[name] += bool(locations & set(guess))
        agree += o.failure_type in ours
    majority = Counter(t for ours in truths for t in ours).most_common(1)
    top = majority[0][0] if majority else "-"
    base_agree = sum(top in ours for ours in truths)
    pct = lambda n: f"{100 * n / scored:.0f}%" if scored else "-"  # noqa: E731
    print(f"\n== TRAIL scores over {scored} annotated traces")
    print(
        f"  localisation: ours {hit}/{scored} ({pct(hit)}), naming a median of "
        f"{statistics.median(named or [0]):g} runs"
    )
    for name, count in base_hits.items():
        print(f"    baseline '{name}': {count}/{scored} ({pct(count)})")
    print(f"  category agreement: ours {agree}/{scored} ({pct(agree)}); ", end="")
    print(f"baseline 'always {top}' {base_agree}/{scored} ({pct(base_agree)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["fixtures", "trail", "whowhen", "agentrx"])
    parser.add_argument("--context", choices=["extract", "none"], default="extract")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--dump", type=Path, help="write every outcome as JSON here")
    args = parser.parse_args()
    todo = list(cases(args.only))
    if args.limit:
        todo = todo[: args.limit]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(run_case, todo, [args.context] * len(todo)))
    print(f"{len(todo)} traces in {time.perf_counter() - started:.0f}s (context: {args.context})")
    report(outcomes, {c.ref: c for c in todo}, args.verbose)
    if args.dump:
        args.dump.write_text(json.dumps([asdict(o) for o in outcomes], indent=1), "utf-8")


if __name__ == "__main__":
    main()
