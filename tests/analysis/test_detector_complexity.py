"""Detection stays linear: regex searches per run do not grow with the trace.

A model call's input repeats the whole conversation so far, so a detector that searched every input
message of every call would do work quadratic in the trace. The test counts the calls into ``re``
pattern methods (``search``, ``match``, ``finditer``...) made by every detector and the divergence
finder on generated agent traces of growing length, and checks the count per run stays flat.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from refinery.analysis.detectors import run_detectors
from refinery.analysis.divergence import find_divergence
from refinery.analysis.findings import DetectorInput
from refinery.traces import Trace, load_trace_file

_REGEX_METHODS = {"search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split"}


def _agent_trace(tmp_path: Path, turns: int) -> Trace:
    """A LangSmith trace of ``turns`` model calls, each seeing the whole conversation so far."""
    root = {"id": "root", "trace_id": "root", "name": "agent", "run_type": "chain",
            "dotted_order": "20261001T000000000000Zroot", "inputs": {"input": "help me"},
            "outputs": {"output": "done"}}  # fmt: skip
    runs: list[dict[str, Any]] = [root]
    history: list[dict[str, Any]] = [{"role": "system", "content": "You look up orders."}]
    for i in range(turns):
        history.append({"role": "user", "content": f"Where is order {i}? It has not arrived."})
        reply = f"Order {i} is on its way; the lookup said it ships today."
        for kind, rid in (("llm", f"llm{i:05d}"), ("tool", f"tool{i:05d}")):
            run: dict[str, Any] = {
                "id": rid, "trace_id": "root", "parent_run_id": "root", "name": kind,
                "run_type": kind, "dotted_order": f"{root['dotted_order']}.20261001T{i:06d}"
                f"{'0' if kind == 'llm' else '1'}00000Z{rid}",
            }  # fmt: skip
            if kind == "llm":
                run["inputs"] = {"messages": list(history)}
                run["outputs"] = {"choices": [{"message": {"role": "assistant", "content": reply}}]}
            else:
                status = "HTTP 503 Service Unavailable" if i == turns // 2 else "ok: shipped"
                run["inputs"] = {"order": str(i)}
                run["outputs"] = {"output": status}
            runs.append(run)
        history.append({"role": "assistant", "content": reply})
    path = tmp_path / f"trace_{turns}.json"
    path.write_text(json.dumps(runs), encoding="utf-8")
    return load_trace_file(path)


def _regex_calls(trace: Trace) -> int:
    calls = 0

    def count(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "c_call" and getattr(arg, "__name__", "") in _REGEX_METHODS:
            calls += type(getattr(arg, "__self__", None)).__name__ == "Pattern"

    data = DetectorInput(trace=trace, expected="should say the order lookup failed")
    sys.setprofile(count)
    try:
        find_divergence(trace, run_detectors(data))
    finally:
        sys.setprofile(None)
    return calls


def test_regex_searches_per_run_stay_flat_as_the_trace_grows(tmp_path: Path) -> None:
    small, large = _agent_trace(tmp_path, 40), _agent_trace(tmp_path, 160)
    per_run_small = _regex_calls(small) / len(small)
    per_run_large = _regex_calls(large) / len(large)
    # Four times the runs, and a conversation four times longer in every late call: the work per
    # run must not follow the conversation's length.
    assert per_run_large <= per_run_small * 1.15, (per_run_small, per_run_large)


def _python_calls(trace: Trace) -> int:
    calls = 0

    def count(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        find_divergence(trace, ())
    finally:
        sys.setprofile(None)
    return calls


def test_locating_the_divergence_in_a_long_chat_stays_linear(tmp_path: Path) -> None:
    def chat(turns: int) -> Trace:
        messages = [{"role": "user", "content": "Plan my trip."}]
        messages += [{"role": "assistant", "content": f"Step {i}."} for i in range(turns)]
        path = tmp_path / f"chat_{turns}.json"
        path.write_text(json.dumps(messages), encoding="utf-8")
        return load_trace_file(path)

    small, large = chat(100), chat(400)
    per_run_small = _python_calls(small) / len(small)
    per_run_large = _python_calls(large) / len(large)
    assert per_run_large <= per_run_small * 1.15, (per_run_small, per_run_large)
