"""Property: every offline fix text reads as something a person would put in a prompt.

Over every shared sample trace (``tests/data/fixtures``, copies of ``../shared/fixtures``) and
expectations of several shapes (a behaviour, one with the case's own names and amounts, a specific
answer), no prompt fix leaves dangling words or stripping leftovers, pastes the expected line, or
carries a run id. ``bench/sweep.py`` runs the same check over every benchmark trace.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from refinery.analysis.analyser import AnalyserInput, ContextFile, FileRole
from refinery.analysis.detectors import run_detectors
from refinery.analysis.findings import DetectorInput
from refinery.analysis.offline import OfflineAnalyser
from refinery.analysis.offline.rule_text import readability_problems
from refinery.errors import InputError
from refinery.traces.sources import load_trace
from sample_paths import EXAMPLES, FIXTURES

TRACES = sorted(
    p
    for p in FIXTURES.rglob("*")
    if p.suffix in (".json", ".jsonl") and "LICENSE" not in p.name and p.stat().st_size < 2_000_000
)
EXPECTATIONS = (
    "should say the service is unavailable instead of guessing",
    "should refund only the duplicate charge of USD 42.50 to Maria Lopez on order #A-1182",
    "The answer is 17",
)
PROMPT = "prompts/system_prompt.txt"
FILES = (
    ContextFile(
        path=PROMPT,
        role=FileRole.PROMPT,
        content=(EXAMPLES / "weather-agent" / PROMPT).read_text(encoding="utf-8"),
    ),
)


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_every_prompt_fix_passes_the_readability_check(path: Path) -> None:
    try:
        trace = load_trace(str(path) + ("#0" if "tau-bench" in str(path) else ""))
    except InputError:
        pytest.skip("a fragment of a trace (single spans), not a whole trace")
    run_ids = frozenset(run.id for run in trace)
    checked = 0
    for expected in EXPECTATIONS:
        prompts = ((PROMPT, FILES[0].content),)
        findings = tuple(
            run_detectors(DetectorInput(trace=trace, expected=expected, prompt_texts=prompts))
        )
        data = AnalyserInput(
            trace=trace, expected=expected, findings=findings, condensed="", files=FILES
        )
        for hypothesis in OfflineAnalyser().analyse(data).hypotheses:
            for edit in hypothesis.edits:
                added = edit.replace.removeprefix(edit.search).strip()
                if edit.file != PROMPT or not added:
                    continue
                checked += 1
                problems = readability_problems(added, expected, run_ids=run_ids)
                assert problems == (), f"{hypothesis.title}: {added!r}: {problems}"
    assert checked


def test_readability_check_catches_what_stripping_leaves() -> None:
    assert readability_problems("Refund only the duplicate charge USD.")
    assert readability_problems("Say ( ) to the user.")
    assert readability_problems("Reply to run 01a2167b-5f6e-722c-8528-e372c1fe4ea7 first.")
    expected = "should refund only the duplicate charge"
    assert readability_problems(f"Remember: {expected}.", expected)
    assert readability_problems("Always ask for the order number.") == ()
