from __future__ import annotations

from datetime import UTC, datetime

import pytest

from refinery.errors import InputError
from refinery.traces.model import Run, RunKind, build_trace


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
