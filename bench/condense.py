"""Does condensation keep the evidence? Share of evidence runs kept verbatim at 8k and 30k tokens.

Three sets of traces with known evidence runs:

- generated: agent traces (root chain, sub-agents, LLM calls that resend a growing history, tool
  runs with multi-KB results) with evidence planted in the middle of long fields of a few runs;
  a Finding points at each planted run and quotes the planted text;
- TRAIL (../shared/benchmarks/trail): every annotated error location is a run that must be kept;
  its Finding quotes the annotation's evidence only when that text occurs verbatim in the span;
- TRAIL, realistic: only the detectors' findings are passed; we report how many annotated
  locations stay verbatim anyway.

For each, at 8k and 30k budgets: the share of evidence runs whose whole content is in the text
(``verbatim``); the ceiling (how many evidence runs could be whole at all: ``fit alone`` counts
those whose own texts fit the budget, ``together`` how many fit at once, smallest first, a repeated
text counted once) and the verbatim share of that ceiling; the share of findings whose evidence
quote is in the text (``quoted``); how often the budget had to be exceeded. The naive rule "first
25 runs, 4,000 characters per field" is measured on the same traces. Times: condense time as a
ratio to load time, on TRAIL and on a generated 100,000-run LangSmith file (in a temporary folder).

Usage: python bench/condense.py [--big 100000] [--generated 20] [--trail-limit N]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refinery.analysis.condense import CondensedTrace, condense
from refinery.analysis.findings import DetectorInput, Finding, Severity
from refinery.analysis.tokens import count_tokens
from refinery.traces import Message, Run, RunKind, ToolCall, Trace, build_trace, load_trace_file

TRAIL = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "trail"
BUDGETS = (8_000, 30_000)
NAIVE_RUNS = 25
NAIVE_CHARS = 4_000
_WORDS = [
    "agent",
    "tool",
    "search",
    "result",
    "city",
    "weather",
    "order",
    "refund",
    "policy",
    "account",
    "flight",
    "baggage",
    "delay",
    "document",
    "summary",
    "answer",
    "question",
    "check",
    "status",
    "value",
    "date",
    "price",
    "total",
    "plan",
    "step",
    "verify",
]


# --- the naive rule --------------------------------------------------------------------------


def run_fields(run: Run) -> list[str]:
    """The texts of a run, as a naive dump would show them."""
    texts = [run.error or "", run.tool_args or "", run.tool_result or ""]
    for message in (*run.input_messages, *run.output_messages):
        texts.append(message.content)
        texts += [call.arguments for call in message.tool_calls]
    if not run.input_messages and run.tool_args is None:
        texts += [_dump(value) for value in run.inputs.values()]
    if not run.output_messages and run.tool_result is None:
        texts += [_dump(value) for value in (run.outputs or {}).values()]
    return [text for text in texts if text]


def _dump(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Naive:
    """The naive rendering: first 25 runs, each field cut to 4,000 characters."""

    text: str
    verbatim: frozenset[str]


def naive(trace: Trace) -> Naive:
    lines: list[str] = []
    verbatim: set[str] = set()
    for run in trace.runs[:NAIVE_RUNS]:
        fields = run_fields(run)
        lines.append(f"{run.kind} {run.name} [run {run.id}]")
        lines += [text[:NAIVE_CHARS] for text in fields]
        if all(len(text) <= NAIVE_CHARS for text in fields):
            verbatim.add(run.id)
    return Naive(text="\n".join(lines), verbatim=frozenset(verbatim))


# --- scoring ---------------------------------------------------------------------------------


@dataclass
class Score:
    """Counts for one method at one budget."""

    runs: int = 0
    verbatim: int = 0
    alone: int = 0
    fit: int = 0
    kept: int = 0
    quotes: int = 0
    quoted: int = 0
    over: int = 0
    traces: int = 0
    tokens: list[int] = field(default_factory=list)

    def add(
        self,
        targets: set[str],
        verbatim: Iterable[str],
        kept: Iterable[str],
        quotes: list[str],
        text: str,
        tokens: int,
        over: bool,
        fits: tuple[int, int] = (0, 0),
    ) -> None:
        self.traces += 1
        self.alone += fits[0]
        self.fit += fits[1]
        self.runs += len(targets)
        self.verbatim += len(targets & set(verbatim))
        self.kept += len(targets & set(kept))
        self.quotes += len(quotes)
        self.quoted += sum(quote in text for quote in quotes)
        self.over += over
        self.tokens.append(tokens)

    def line(self, name: str) -> str:
        quoted = (
            f"{self.quoted}/{self.quotes} ({_pct(self.quoted, self.quotes)})"
            if self.quotes
            else "-"
        )
        verbatim = f"{self.verbatim}/{self.runs} ({_pct(self.verbatim, self.runs)})"
        median = int(statistics.median(self.tokens or [0]))
        line = (
            f"  {name:<26} verbatim {verbatim:<16} shown {_pct(self.kept, self.runs):>6}"
            f"  quoted {quoted:<18} over budget {self.over}/{self.traces}"
            f"  median tokens {median:,}"
        )
        if not self.fit:
            return line
        return (
            f"{line}\n  {'':<26} ceiling: {self.alone}/{self.runs} fit alone, {self.fit} together"
            f" ({_pct(self.fit, self.runs)}); verbatim of those that fit together"
            f" {_pct(min(self.verbatim, self.fit), self.fit)}"
        )


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


@dataclass
class Suite:
    """Scores of condense at each budget and of the naive rule, plus timings."""

    name: str
    scores: dict[str, Score] = field(default_factory=dict)
    load_s: float = 0.0
    condense_s: float = 0.0

    def score(self, key: str) -> Score:
        return self.scores.setdefault(key, Score())

    def report(self) -> None:
        print(f"\n{self.name}")
        for key, score in self.scores.items():
            print(score.line(key))
        if self.load_s:
            per_call = self.condense_s / len(BUDGETS)
            print(
                f"  condense time / load time, per budget: {per_call / self.load_s:.2f}"
                f"  ({self.condense_s:.1f}s for {len(BUDGETS)} budgets / {self.load_s:.1f}s)"
            )


def measure(
    suite: Suite, trace: Trace, findings: list[Finding], targets: set[str], label: str = "condense"
) -> None:
    """Condense at each budget and score the result against ``targets``."""
    quotes = [found.evidence for found in findings if found.evidence and found.run_id in targets]
    sizes = run_sizes(trace, targets)
    for budget in BUDGETS:
        started = time.perf_counter()
        result: CondensedTrace = condense(trace, findings, budget)
        suite.condense_s += time.perf_counter() - started
        suite.score(f"{label} @{budget // 1000}k").add(
            targets,
            result.verbatim_run_ids,
            result.kept_run_ids,
            quotes,
            result.text,
            result.tokens,
            result.over_budget,
            ceiling(sizes, budget),
        )


# --- the ceiling: how many evidence runs could be whole at all ------------------------------

_RUN_OVERHEAD = 40
"""Tokens of a run's header and the trace's preamble, roughly."""
_TEXT_OVERHEAD = 12
"""Tokens of a text's label line, roughly."""


def run_sizes(trace: Trace, targets: set[str]) -> dict[str, dict[str, int]]:
    """Per evidence run: its texts and their token counts (a text shown once however repeated)."""
    sizes: dict[str, dict[str, int]] = {}
    counted: dict[str, int] = {}
    for run_id in sorted(targets):
        run = trace.get(run_id)
        assert run is not None
        texts = {text: 0 for text in run_fields(run)}
        for text in texts:
            if text not in counted:
                counted[text] = count_tokens(text, None) + _TEXT_OVERHEAD
            texts[text] = counted[text]
        sizes[run_id] = texts
    return sizes


def ceiling(sizes: dict[str, dict[str, int]], budget: int) -> tuple[int, int]:
    """Evidence runs that fit the budget alone, and together (smallest first, repeats once)."""
    alone = [
        sum(texts.values()) + _RUN_OVERHEAD
        for texts in sizes.values()
        if sum(texts.values()) + _RUN_OVERHEAD <= budget
    ]
    shown: set[str] = set()
    used = together = 0
    for texts in sorted(sizes.values(), key=lambda texts: sum(texts.values())):
        extra = sum(tokens for text, tokens in texts.items() if text not in shown)
        if used + extra + _RUN_OVERHEAD <= budget:
            used += extra + _RUN_OVERHEAD
            shown.update(texts)
            together += 1
    return len(alone), together


def measure_naive(suite: Suite, trace: Trace, findings: list[Finding], targets: set[str]) -> None:
    shown = naive(trace)
    quotes = [found.evidence for found in findings if found.evidence and found.run_id in targets]
    kept = [run.id for run in trace.runs[:NAIVE_RUNS]]
    tokens = count_tokens(shown.text, None)
    over = tokens > BUDGETS[0]
    suite.score("naive 25 runs × 4,000 ch").add(
        targets, shown.verbatim, kept, quotes, shown.text, tokens, over
    )


# --- generated traces with planted evidence --------------------------------------------------


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(count))


def generated(rng: random.Random, steps: int) -> tuple[Trace, list[Finding]]:
    """An agent trace of ``2 × steps`` runs or more with 1-4 planted evidence runs."""
    system = "You are a support agent. " + _words(rng, 300)
    runs = [
        Run(
            id="root",
            trace_id="g",
            name="agent",
            kind=RunKind.CHAIN,
            inputs={"input": _words(rng, 30)},
            outputs={"output": _words(rng, 40)},
        )
    ]
    history: list[Message] = [
        Message(role="system", content=system),
        Message(role="user", content=_words(rng, 40)),
    ]
    parent = "root"
    for step in range(steps):
        if step % 40 == 0:
            parent = f"sub{step}"
            runs.append(
                Run(
                    id=parent,
                    trace_id="g",
                    parent_id="root",
                    name="sub_agent",
                    kind=RunKind.AGENT,
                    inputs={"task": _words(rng, 20)},
                )
            )
        call = ToolCall(id=f"c{step}", name="search", arguments=json.dumps({"q": _words(rng, 5)}))
        reply = Message(
            role="assistant", content=_words(rng, rng.randint(20, 200)), tool_calls=(call,)
        )
        runs.append(
            Run(
                id=f"llm{step}",
                trace_id="g",
                parent_id=parent,
                name="ChatModel",
                kind=RunKind.LLM,
                model="gpt-4o",
                input_messages=tuple(history[-8:]),
                output_messages=(reply,),
            )
        )
        result = _words(rng, rng.choice([50, 300, 1200, 3000]))
        runs.append(
            Run(
                id=f"tool{step}",
                trace_id="g",
                parent_id=parent,
                name="search",
                kind=RunKind.TOOL,
                tool_name="search",
                tool_args=call.arguments,
                tool_result=result,
            )
        )
        history += [reply, Message(role="tool", content=result, tool_call_id=call.id)]
    return _plant(rng, runs)


def _plant(rng: random.Random, runs: list[Run]) -> tuple[Trace, list[Finding]]:
    findings: list[Finding] = []
    for index in rng.sample(range(1, len(runs)), k=rng.randint(1, 4)):
        run = runs[index]
        quote = f"EVIDENCE-{index}: upstream returned HTTP 503 after {rng.randint(2, 90)}s"
        if run.kind is RunKind.TOOL and run.tool_result:
            cut = rng.randint(0, len(run.tool_result))
            text = run.tool_result[:cut] + quote + run.tool_result[cut:]
            runs[index] = run.model_copy(update={"tool_result": text, "status": "error"})
        else:
            runs[index] = run.model_copy(
                update={"error": _words(rng, 400) + quote + _words(rng, 400)}
            )
        findings.append(
            Finding(
                kind="planted",
                severity=Severity.HIGH,
                run_id=run.id,
                message="planted evidence",
                evidence=quote,
            )
        )
    trace = build_trace(runs, trace_id="g", source="file", format="generated")
    return trace, findings


def run_generated(count: int) -> Suite:
    suite = Suite(name=f"generated traces ({count}, planted evidence)")
    rng = random.Random(42)
    for _ in range(count):
        trace, findings = generated(rng, rng.choice([100, 400, 1500]))
        targets = {found.run_id for found in findings}
        measure(suite, trace, findings, targets)
        measure_naive(suite, trace, findings, targets)
    return suite


# --- TRAIL -----------------------------------------------------------------------------------


def annotations(data_file: Path) -> list[dict[str, Any]]:
    """The annotated errors of a TRAIL trace (one file has a trailing comma: tolerated)."""
    folder = (
        "processed_annotations_gaia"
        if data_file.parent.name == "GAIA"
        else "processed_annotations_swe_bench"
    )
    path = TRAIL / folder / data_file.name
    if not path.exists():
        return []
    text = re.sub(r",(\s*[\]}])", r"\1", path.read_text(encoding="utf-8"))
    errors: list[dict[str, Any]] = json.loads(text).get("errors", [])
    return errors


def trail_findings(trace: Trace, errors: list[dict[str, Any]]) -> tuple[list[Finding], set[str]]:
    findings: list[Finding] = []
    for error in errors:
        run = trace.get(str(error.get("location", "")))
        if run is None:
            continue
        evidence = str(error.get("evidence") or "")
        verbatim = evidence and any(evidence in text for text in run_fields(run))
        findings.append(
            Finding(
                kind="annotated",
                severity=Severity.HIGH,
                run_id=run.id,
                message=str(error.get("category", "")),
                evidence=evidence if verbatim else "",
            )
        )
    return findings, {found.run_id for found in findings}


def _detector_findings() -> Callable[[Trace], list[Finding]] | None:
    try:
        from refinery.analysis.detectors import run_detectors
    except ImportError:
        return None
    return lambda trace: list(run_detectors(DetectorInput(trace=trace)))


def run_trail(limit: int | None) -> tuple[Suite, Suite | None, dict[str, int]]:
    suite, detect = Suite(name="TRAIL annotated locations as findings"), _detector_findings()
    realistic = Suite(name="TRAIL, detectors' findings only") if detect else None
    files = sorted((TRAIL / "data").glob("*/*.json"))[:limit]
    counts = {"files": len(files), "loaded": 0, "annotated": 0, "located": 0, "runs": 0}
    for path in files:
        started = time.perf_counter()
        trace = load_trace_file(path)
        suite.load_s += time.perf_counter() - started
        errors = annotations(path)
        findings, targets = trail_findings(trace, errors)
        counts["loaded"] += 1
        counts["annotated"] += len(errors)
        counts["located"] += len(findings)
        counts["runs"] += len(trace)
        measure(suite, trace, findings, targets)
        measure_naive(suite, trace, findings, targets)
        if detect and realistic is not None:
            realistic.load_s = suite.load_s
            measure(realistic, trace, detect(trace), targets, label="detectors only")
    return suite, realistic, counts


# --- the 100,000-run trace -------------------------------------------------------------------


def run_big(count: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ingest import write_langsmith  # the ingestion bench's generator: one story, two benches

    with tempfile.TemporaryDirectory(prefix="refinery-bench-") as tmp:
        path = Path(tmp) / "big.json"
        with path.open("w", encoding="utf-8") as out:
            write_langsmith(out, count)
        started = time.perf_counter()
        trace = load_trace_file(path)
        load_s = time.perf_counter() - started
    failed = [run for run in trace.runs if run.failed]
    findings = [
        Finding(
            kind="tool_error",
            severity=Severity.HIGH,
            run_id=run.id,
            message="tool failed",
            evidence=(run.error or "")[:80],
        )
        for run in failed[:: max(1, len(failed) // 20)]
    ]
    print(f"\n{len(trace):,}-run LangSmith trace: load {load_s:.1f}s")
    for budget in BUDGETS:
        started = time.perf_counter()
        result = condense(trace, findings, budget)
        took = time.perf_counter() - started
        kept = sum(found.run_id in result.verbatim_run_ids for found in findings)
        print(
            f"  @{budget // 1000}k: condense {took:.2f}s = {took / load_s:.2f}× load;"
            f" {result.tokens:,} tokens; finding runs verbatim {kept}/{len(findings)};"
            f" {len(result.kept_run_ids):,} runs shown"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=100_000, help="runs of the big trace (0: skip)")
    parser.add_argument("--generated", type=int, default=20, help="generated traces")
    parser.add_argument("--trail-limit", type=int, default=None, help="TRAIL files to use")
    args = parser.parse_args()
    run_generated(args.generated).report()
    suite, realistic, counts = run_trail(args.trail_limit)
    print(
        f"\nTRAIL: {counts['loaded']}/{counts['files']} traces, {counts['runs']:,} runs, "
        f"{counts['annotated']} annotated errors, {counts['located']} at a span of the trace"
    )
    suite.report()
    if realistic is not None:
        realistic.report()
    if args.big:
        run_big(args.big)


if __name__ == "__main__":
    main()
