"""Saved analyses in the library: apply exactly what was shown, checked against the files now."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from refinery.analysis.llm_analyst import LLMAnalyser
from refinery.config import Settings
from refinery.errors import ApplyRefused, InputError
from refinery.llm.fake import FakeProvider
from refinery.pipeline import (
    AnalysisResult,
    AnalyzeOptions,
    ContextRequest,
    analyze,
    apply_saved,
    history,
    load_analysis,
    load_attachment,
    save_attachment,
)
from refinery.store.history import HistoryQuery
from sample_paths import EXAMPLES

PROMPT = "examples/weather-agent/prompts/system_prompt.txt"
ANCHOR = "- Keep answers to one or two friendly sentences.\n"
RULE = "- If get_weather fails, say the weather service is unavailable; never guess.\n"
DIAGNOSIS = {
    "failure_type": "instruction_gap", "root_cause": "No rule for a failed lookup.",
    "confidence": "high", "confidence_reason": "The tool failed.", "trace_summary": "It guessed.",
    "gap": "It guessed.", "executive_summary": "The assistant made up the weather.",
    "affected_component": PROMPT, "evidence": [],
}  # fmt: skip
HYPOTHESES = {"hypotheses": [{
    "rank": 1, "title": "Say when the weather service fails", "strategy": "add_rule",
    "rationale": "The prompt lacks it.", "failure_type": "instruction_gap", "risk": "low",
    "expected_effect": "No more guessing.",
    "edits": [{"file": PROMPT, "search": ANCHOR, "replace": ANCHOR + RULE}],
}]}  # fmt: skip


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def repo(git_repo: Path) -> Path:
    shutil.copytree(EXAMPLES, git_repo / "examples")
    _git(git_repo, "add", "-A")
    _git(git_repo, "commit", "-qm", "agent")
    return git_repo


def _analyze(repo: Path, apply: int | None = None) -> AnalysisResult:
    settings = Settings(repo_root=repo)
    return analyze(
        repo / "examples/weather-agent/trace.json",
        project="weather",
        expected="say the weather service is unavailable",
        settings=settings,
        options=AnalyzeOptions(apply=apply, context=ContextRequest(prompt_files=(PROMPT,))),
        analyser=LLMAnalyser(FakeProvider(replies=[DIAGNOSIS, HYPOTHESES]), settings),
    )


def _edit_and_commit(repo: Path, old: str, new: str) -> None:
    path = repo / PROMPT
    path.write_text(path.read_text().replace(old, new))
    _git(repo, "commit", "-qam", "edited by hand")


def test_a_saved_analysis_loads_back_equal(repo: Path) -> None:
    result = _analyze(repo)
    assert load_analysis(Settings(repo_root=repo), result.analysis_id[:6]) == result
    assert result.file_sha256.keys() == {PROMPT}


def test_a_file_changed_under_the_edit_is_refused_with_what_changed(repo: Path) -> None:
    result = _analyze(repo)
    _edit_and_commit(repo, ANCHOR, "- Keep answers short.\n")
    before = (repo / PROMPT).read_bytes()
    with pytest.raises(ApplyRefused) as refused:
        apply_saved(Settings(repo_root=repo), result.analysis_id, 1)
    message = str(refused.value)
    assert message.startswith(
        f"cannot apply fix 1 of {result.analysis_id}: {PROMPT} changed since the analysis "
        "(line 9: '- Keep answers to one or two friendly sentences.' became "
        "'- Keep answers short.'), and the fix no longer fits: "
    )
    assert message.endswith("run refinery analyze again (project weather)")
    assert (repo / PROMPT).read_bytes() == before


def test_a_changed_file_the_edit_still_matches_gets_the_edit_and_a_note(repo: Path) -> None:
    result = _analyze(repo)
    _edit_and_commit(repo, "How to answer:\n", "How to answer (v2):\n")
    done = apply_saved(Settings(repo_root=repo), result.analysis_id, 1)
    assert RULE in (repo / PROMPT).read_text()
    assert "How to answer (v2):" in (repo / PROMPT).read_text()
    assert done.notes == (
        f"{PROMPT} changed since the analysis (line 5: 'How to answer:' became 'How to answer "
        "(v2):'); fix 1's edits still match it exactly once, so they were applied to the file "
        "as it is now",
    )


def test_analyze_apply_saves_the_applied_change_and_history_links_them(repo: Path) -> None:
    result = _analyze(repo, apply=1)
    assert result.applied is not None
    settings = Settings(repo_root=repo)
    assert load_analysis(settings, result.analysis_id).applied == result.applied
    entries = history(settings, HistoryQuery(project="weather")).entries
    assert [e.kind for e in entries] == ["change", "analysis"]
    assert entries[1].changes == (result.applied.change_id,)


def test_history_filters_by_project_trace_and_time(repo: Path) -> None:
    first = _analyze(repo)
    settings = Settings(repo_root=repo)
    assert history(settings, HistoryQuery(project="other")).entries == ()
    assert [e.id for e in history(settings, HistoryQuery(trace=first.trace.id[:8])).entries] == [
        first.analysis_id
    ]
    assert first.created_at is not None
    later = HistoryQuery(since=first.created_at.replace(year=first.created_at.year + 1))
    assert history(settings, later).entries == ()


class Verification(BaseModel):
    pass_rate: float
    runs: int


def test_records_sit_beside_a_saved_analysis(repo: Path) -> None:
    result = _analyze(repo)
    settings = Settings(repo_root=repo)
    assert load_attachment(settings, result.analysis_id, "verification", Verification) is None
    save_attachment(
        settings, result.analysis_id, "verification", Verification(pass_rate=0.8, runs=5)
    )
    loaded = load_attachment(settings, result.analysis_id, "verification", Verification)
    assert loaded == Verification(pass_rate=0.8, runs=5)
    with pytest.raises(InputError, match="no saved analysis an_000000000000"):
        save_attachment(settings, "an_000000000000", "verification", loaded)


def test_saved_analyses_stay_out_of_git(repo: Path) -> None:
    ignore = repo / ".refinery" / ".gitignore"
    ignore.parent.mkdir()
    ignore.write_text("cache/\nchanges/\n")  # as an older Refinery wrote it
    _analyze(repo)
    lines: list[Any] = ignore.read_text().splitlines()
    assert {"cache/", "analyses/", "snapshots/", "refinery.db*"} <= set(lines)
