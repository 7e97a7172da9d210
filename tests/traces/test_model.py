from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from refinery.errors import InputError
from refinery.traces import load_trace_file
from refinery.traces.model import (
    Message,
    Run,
    RunKind,
    TokenUsage,
    ToolCall,
    Trace,
    build_trace,
    trusted,
)
from sample_paths import DATA, EXAMPLES


def _run(run_id: str, parent: str | None = None, *, order: str = "", second: int = 0) -> Run:
    return Run(
        id=run_id,
        trace_id="t",
        parent_id=parent,
        order=order,
        kind=RunKind.CHAIN,
        start_time=datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC),
    )


def test_build_trace_orders_depth_first_by_start_time() -> None:
    runs = [
        _run("c2", "root", second=3),
        _run("root"),
        _run("c1", "root", second=1),
        _run("g", "c1", second=2),
    ]
    trace = build_trace(runs, trace_id="t", source="file", format="test")
    assert [r.id for r in trace.runs] == ["root", "c1", "g", "c2"]
    assert trace.depth("g") == 2
    assert [r.id for r in trace.ancestors("g")] == ["c1", "root"]
    assert [r.id for r in trace.children("root")] == ["c1", "c2"]
    assert trace.parent("root") is None
    assert trace.position("c2") == 3


def test_source_order_key_wins_over_start_time() -> None:
    runs = [
        _run("root", order="a"),
        _run("x", "root", order="a.2", second=1),
        _run("y", "root", order="a.1", second=2),
    ]
    trace = build_trace(runs, trace_id="t", source="file", format="test")
    assert [r.id for r in trace.runs] == ["root", "y", "x"]


def test_missing_parent_is_one_clear_error() -> None:
    with pytest.raises(InputError, match="run b names parent nope, which is not in the trace"):
        build_trace([_run("a"), _run("b", "nope")], trace_id="t", source="file", format="test")


def test_parent_cycle_is_detected() -> None:
    runs = [_run("root"), _run("a", "b"), _run("b", "a")]
    with pytest.raises(InputError, match="parent cycle"):
        build_trace(runs, trace_id="t", source="file", format="test")


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(InputError, match="appears twice"):
        build_trace([_run("a"), _run("a")], trace_id="t", source="file", format="test")


def test_empty_trace_is_refused() -> None:
    with pytest.raises(InputError, match="no runs"):
        build_trace([], trace_id="t", source="file", format="test")


def test_siblings_with_the_same_order_key_fall_back_to_start_time_then_position() -> None:
    runs = [
        _run("root", order="a"),
        _run("late", "root", order="a.1", second=2),
        _run("early", "root", order="a.1", second=1),
        _run("twin", "root", order="a.1", second=1),
    ]
    trace = build_trace(runs, trace_id="t", source="file", format="test")
    assert [r.id for r in trace.runs] == ["root", "early", "twin", "late"]


def _every_value() -> dict[str, Any]:
    message = Message(role="assistant", content="hi", tool_calls=(ToolCall(name="f"),))
    return {
        "id": "r1",
        "trace_id": "t",
        "parent_id": None,
        "order": "a",
        "name": "ChatOpenAI",
        "kind": RunKind.LLM,
        "start_time": datetime(2026, 1, 1, tzinfo=UTC),
        "end_time": None,
        "inputs": {"messages": [{"role": "user", "content": "hello"}]},
        "outputs": {"choices": []},
        "error": None,
        "status": "ok",
        "model": "gpt-4o",
        "provider": "openai",
        "invocation_params": {"temperature": 0},
        "usage": TokenUsage(prompt_tokens=3, completion_tokens=1, total_tokens=4),
        "input_messages": (Message(role="user", content="hello"),),
        "output_messages": (message,),
        "finish_reason": "stop",
        "available_tools": ("f",),
        "tool_name": None,
        "tool_args": None,
        "tool_result": None,
        "metadata": {"ls_provider": "openai"},
        "tags": ("prod",),
    }


def test_a_trusted_value_is_the_validated_value() -> None:
    values = _every_value()
    made, validated = trusted(Run, **values), Run(**values)
    assert made == validated
    assert made.model_dump_json() == validated.model_dump_json()
    assert made.model_fields_set == validated.model_fields_set
    some = trusted(Message, role="tool", tool_call_id="c1")  # the others take their defaults
    assert some == Message(role="tool", tool_call_id="c1")
    assert some.model_fields_set == {"role", "tool_call_id"}
    assert trusted(Run, id="r", trace_id="t").inputs == {}  # a default factory's value


def test_trusted_refuses_what_validation_would() -> None:
    with pytest.raises(TypeError, match="Message has no field colour"):
        trusted(Message, role="user", colour="red")
    with pytest.raises(TypeError, match="ToolCall needs a value for name"):
        trusted(ToolCall, id="c1")
    with pytest.raises(TypeError, match="Trace is not a frozen model without private attributes"):
        trusted(Trace, id="t", source="file", format="x", runs=())


def _traces() -> list[Path]:
    files = sorted([*DATA.rglob("*.json"), *DATA.rglob("*.traj"), *EXAMPLES.rglob("trace.json")])
    return [path for path in files if "LICENSE" not in path.name]


@pytest.mark.parametrize("path", _traces(), ids=lambda path: path.name)
def test_every_parsed_value_is_what_validation_makes_of_it(path: Path) -> None:
    """Parsers build runs and messages unvalidated (``trusted``): each must still be well-typed."""
    try:
        trace = load_trace_file(path, select=0)  # the first of several traces, or the only one
    except InputError as exc:
        pytest.skip(f"not a trace file: {exc}")  # a single span or an eval file: nothing built
    for run in trace.runs:
        assert Run.model_validate(run.model_dump()) == run
        assert Run.model_validate_json(run.model_dump_json()) == run
