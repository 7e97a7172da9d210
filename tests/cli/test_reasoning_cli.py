"""``analyze --reasoning``: reaches the provider, is refused clearly where it means nothing, and
``--json`` usage reports thinking tokens and their cost."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from provider_wire import PATHS, THINKING_TOKENS, handler
from refinery.cli import app
from sample_paths import DATA

EXPECTED = "Refunds must be escalated to a human agent; the assistant never promises one itself."
PROMPT = "You are the support assistant for Acme Cloud.\nAnswer billing questions politely.\n"
DIAGNOSIS = {
    "failure_type": "instruction_gap", "root_cause": "No refund policy.", "confidence": "high",
    "confidence_reason": "r", "trace_summary": "s", "gap": "g", "executive_summary": "e",
    "affected_component": "prompts/system.txt", "evidence": [],
    "divergence": {"run_id": "msg-4", "name": "assistant", "position": 9,
                   "reason": "promised a refund instead of escalating"},
}  # fmt: skip
HYPOTHESES = {"hypotheses": [{
    "rank": 1, "title": "State the refund policy", "strategy": "add_rule", "rationale": "r",
    "failure_type": "instruction_gap", "risk": "low", "risk_reasons": [],
    "expected_effect": "Refunds are escalated.", "patterns": [],
    "edits": [{"file": "prompts/system.txt", "search": "Answer billing questions politely.\n",
               "replace": "Answer billing questions politely.\nEscalate every refund request.\n"}],
}]}  # fmt: skip


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    return HYPOTHESES if body["text"]["format"]["name"] == "hypotheses" else DIAGNOSIS


@pytest.fixture
def project(git_repo: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> Path:
    (git_repo / "prompts").mkdir()
    (git_repo / "prompts" / "system.txt").write_text(PROMPT)
    shutil.copy(DATA / "llm_refund_transcript.json", git_repo / "trace.json")
    subprocess.run(["git", "add", "."], cwd=git_repo, check=True)
    subprocess.run(["git", "commit", "-qm", "agent"], cwd=git_repo, check=True)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", httpserver.url_for("/v1"))
    return git_repo


def _analyze(*extra: str) -> Any:
    args = ["analyze", "trace.json", "--project", "billing", "--expected", EXPECTED,
            "--prompt-files", "prompts/system.txt", *extra]  # fmt: skip
    return CliRunner().invoke(app, args)


def test_json_usage_shows_thinking_tokens_and_their_cost(
    project: Path, httpserver: HTTPServer
) -> None:
    seen: list[dict[str, Any]] = []
    httpserver.expect_request(PATHS["openai"], method="POST").respond_with_handler(
        handler("openai", _answer, seen)
    )
    result = _analyze("--provider", "openai", "--model", "gpt-5.5", "--reasoning", "HIGH", "--json")

    assert result.exit_code == 0, result.output
    usage = json.loads(result.stdout)["usage"]
    thinking = 2 * THINKING_TOKENS
    assert usage["thinking_tokens"] == thinking and usage["output_tokens"] == 600 + thinking
    assert usage["cost_usd"] == pytest.approx((2400 * 5.0 + (600 + thinking) * 30.0) / 1e6)
    assert [body["reasoning"] for body in seen] == [{"effort": "high"}] * 2
    divergence = json.loads(result.stdout)["diagnosis"]["divergence"]
    assert divergence == {"run_id": "msg-4", "name": "assistant", "position": 4,
                          "reason": "promised a refund instead of escalating"}  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        (["--reasoning", "extreme"],
         "error: --reasoning extreme: not a reasoning level: use low, medium or high"),
        (["--provider", "openai", "--model", "gpt-4.1", "--reasoning", "low"],
         "error: gpt-4.1 has no reasoning setting: drop --reasoning or choose a reasoning model "
         "with --model"),
    ],
)  # fmt: skip
def test_reasoning_that_cannot_apply_is_one_line_and_exit_2(
    project: Path, extra: list[str], line: str
) -> None:
    result = _analyze(*extra)

    assert result.exit_code == 2
    assert result.stderr.strip() == line
