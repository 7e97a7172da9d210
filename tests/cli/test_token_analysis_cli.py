from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from refinery.cli import app, main
from refinery.traces import RunKind, load_trace_file
from sample_paths import FIXTURES as SAMPLE_FIXTURES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "weather-agent" / "trace.json"
FIXTURES = SAMPLE_FIXTURES
runner = CliRunner()


def _run_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["token-analysis", *args, "--json"])
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


@pytest.mark.parametrize(
    "path",
    [
        EXAMPLE,
        FIXTURES / "generated" / "weather_agent.otlp.jsonl",
        FIXTURES / "langsmith-sdk" / "langsmith_py_wrap_openai_reasoning.json",
    ],
    ids=["example", "otlp", "langsmith-sdk"],
)
def test_json_has_the_contract_keys_and_reported_totals(path: Path) -> None:
    out = _run_json(str(path))
    trace = load_trace_file(path)
    usage = [r.usage for r in trace.runs if r.kind is RunKind.LLM and r.usage]
    assert {"trace", "total_tokens", "by_kind", "top", "health"} <= set(out)
    assert out["trace"] == {
        "id": trace.id,
        "source": "file",
        "format": trace.format,
        "runs": len(trace),
        "counts": trace.counts().model_dump(mode="json"),
    }
    counts = out["trace"]["counts"]  # type: ignore[index]
    assert counts["tool_results"] == len(trace.of_kind(RunKind.TOOL))
    assert counts["errors"] == sum(run.failed for run in trace.runs)
    assert out["total_tokens"] == sum(u.total_tokens or 0 for u in usage)
    assert isinstance(out["health"], dict) and out["health"]["label"] == "OK"
    assert isinstance(out["top"], list) and {"run_id", "name", "kind", "tokens", "share"} <= set(
        out["top"][0]
    )


def test_model_flag_makes_counts_exact() -> None:
    assert _run_json(str(EXAMPLE))["exact"] is False
    with_model = _run_json(str(EXAMPLE), "--model", "gpt-4o")
    assert with_model["exact"] is True
    assert with_model["largest_llm_call"]["context_window"] == 128_000  # type: ignore[index]


def test_human_output_shows_summary_tables_call_and_health() -> None:
    result = runner.invoke(app, ["token-analysis", str(EXAMPLE), "--model", "gpt-4o"])
    assert result.exit_code == 0
    out = result.stdout
    assert "303 tokens in LLM calls (290 prompt, 13 completion), exact" in out
    for part in ("Tokens by kind", "Top contributors", "get_weather", "Largest LLM call"):
        assert part in out
    assert "Health: OK" in out and "fits its context window" in out


def test_a_call_over_its_window_is_hard_truncation(tmp_path: Path) -> None:
    run = {
        "id": "11111111-1111-4111-8111-111111111111",
        "trace_id": "11111111-1111-4111-8111-111111111111",
        "run_type": "llm",
        "name": "ChatOpenAI",
        "inputs": {"messages": [{"role": "user", "content": "summarise the attached log"}]},
        "outputs": {"choices": [{"message": {"role": "assistant", "content": ""}}]},
        "extra": {"invocation_params": {"model": "gpt-4"}},
        "prompt_tokens": 8500,
        "completion_tokens": 0,
    }
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({"runs": [run]}))
    health = _run_json(str(path))["health"]
    assert isinstance(health, dict) and health["label"] == "HARD_TRUNCATION"
    assert health["reason"] == "prompt of 8,500 tokens ≥ the 8,192-token window of gpt-4"


def test_help_documents_the_thresholds() -> None:
    result = runner.invoke(app, ["token-analysis", "--help"])
    assert result.exit_code == 0
    for label in ("HARD_TRUNCATION", "SOFT_TRUNCATION", "CONTEXT_STARVATION", "ATTENTION_DILUTION"):
        assert label in result.stdout


def test_missing_file_is_one_error_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["refinery", "token-analysis", "missing.json", "--json"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    assert exit_info.value.code == 2
    assert captured.out == ""
    assert captured.err == (
        "error: cannot read trace missing.json: no such file: give a path to a trace file, "
        "or a LangSmith/Langfuse trace id\n"
    )


def test_progress_off_a_terminal_writes_each_measured_step_once() -> None:
    from io import StringIO

    from rich.console import Console

    from refinery.cli.progress_view import describe, progress_to
    from refinery.progress import ProgressEvent

    sink = StringIO()
    with progress_to(Console(file=sink, force_terminal=False, width=200)) as on_progress:
        on_progress(ProgressEvent(stage="parse", message="parsing trace.json"))
        for done in (1, 2):
            on_progress(ProgressEvent(stage="fetch", message="fetching runs", done=done, total=4))
    assert sink.getvalue() == "fetch: fetching runs (25%)\n"
    assert describe(ProgressEvent(stage="fetch", message="runs", done=1200)) == "runs (1,200)"
