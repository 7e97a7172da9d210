"""Nested span-tree JSON (Patronus / TRAIL export)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from refinery.errors import InputError
from refinery.traces import RunKind, load_trace_file
from refinery.traces.spantree import parse

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "spantree_research_agent.json"
TRAIL = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "trail" / "data"


def test_spantree_nesting_is_the_tree_and_ids_are_kept() -> None:
    trace = load_trace_file(SAMPLE)
    assert trace.format == "span-tree"
    assert trace.id == "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    shape = [(run.id, trace.depth(run.id), run.kind) for run in trace.runs]
    assert shape == [
        ("5f00000000000000", 0, RunKind.OTHER),
        ("5f00000000000001", 1, RunKind.AGENT),
        ("5f00000000000002", 2, RunKind.CHAIN),
        ("5f00000000000003", 3, RunKind.LLM),
        ("5f00000000000004", 3, RunKind.TOOL),
        ("5f00000000000005", 2, RunKind.CHAIN),
        ("5f00000000000006", 3, RunKind.LLM),
    ]
    assert [r.id for r in trace.ancestors("5f00000000000004")] == [
        "5f00000000000002",
        "5f00000000000001",
        "5f00000000000000",
    ]


def test_spantree_llm_span_fields() -> None:
    llm = load_trace_file(SAMPLE).runs[3]
    assert llm.model == "o3-mini"
    assert (llm.usage.prompt_tokens, llm.usage.completion_tokens, llm.usage.total_tokens) == (
        812,
        40,
        852,
    )
    assert llm.invocation_params == {"max_tokens": 4096}
    assert llm.available_tools == ("web_search", "final_answer")
    assert [(m.role, m.content) for m in llm.input_messages] == [
        ("system", "You are a research agent. Use tools."),
        ("user", "Who wrote the 1998 report?"),
    ]
    (call,) = llm.output_messages[0].tool_calls
    assert (call.id, call.name, call.arguments) == (
        "call_A1",
        "web_search",
        '{"query": "1998 report author"}',
    )
    assert llm.start_time is not None and llm.end_time is not None
    assert (llm.end_time - llm.start_time).total_seconds() == 1.25


def test_spantree_error_span_with_exception_event() -> None:
    trace = load_trace_file(SAMPLE)
    tool = trace.get("5f00000000000004")
    assert tool is not None
    assert tool.status == "error"
    assert tool.error is not None
    assert tool.error.startswith("RuntimeError: search backend returned HTTP 503\nTraceback")
    assert tool.tool_name == "web_search"
    assert "1998 report author" in (tool.tool_args or "")
    step = trace.get("5f00000000000002")
    assert step is not None and step.error == "RuntimeError: search backend returned HTTP 503"
    assert trace.root.status == "unset"
    agent = trace.runs[1]
    assert agent.end_time is not None and agent.start_time is not None
    assert (agent.end_time - agent.start_time).total_seconds() == 62.5


def test_spantree_exact_repeat_is_dropped_and_orphan_tops_become_roots() -> None:
    doc = json.loads(SAMPLE.read_text())
    steps = doc["spans"][0]["child_spans"][0]["child_spans"]
    steps[1]["child_spans"].append(copy.deepcopy(steps[1]["child_spans"][0]))
    trace = parse({"trace_id": "t", "spans": steps}, "inline")
    assert [run.id for run in trace.roots] == ["5f00000000000002", "5f00000000000005"]
    assert len(trace) == 5
    assert trace.roots[0].metadata["otel.parent_span_id"] == "5f00000000000001"


def test_spantree_different_spans_with_one_id_are_refused() -> None:
    doc = json.loads(SAMPLE.read_text())
    llm = doc["spans"][0]["child_spans"][0]["child_spans"][1]["child_spans"]
    clash = copy.deepcopy(llm[0])
    clash["span_name"] = "other"
    llm.append(clash)
    with pytest.raises(InputError, match="two different spans have id 5f00000000000006"):
        parse(doc, "inline")


@pytest.mark.skipif(not TRAIL.exists(), reason="TRAIL benchmark not present")
def test_spantree_every_trail_trace_parses() -> None:
    files = sorted(TRAIL.glob("*/*.json"))
    assert len(files) == 139
    errors = 0
    for path in files:
        trace = load_trace_file(path)
        assert trace.id == path.stem
        errors += sum(run.status == "error" for run in trace.runs)
    assert errors >= 300
