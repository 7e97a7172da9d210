"""Bad trace files: each gives one InputError whose message names the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from refinery.errors import InputError
from refinery.traces import load_trace, load_trace_file

SPAN = {
    "traceId": "0af7651916cd43dd8448eb211c80319c",
    "startTimeUnixNano": "1700000000000000000",
    "name": "s",
}


def _otlp(*spans: dict[str, Any]) -> str:
    return json.dumps(
        {"resourceSpans": [{"scopeSpans": [{"spans": [{**SPAN, **s} for s in spans]}]}]}
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the file is empty"),
        (b"  \n\t ", "the file is empty"),
        (b"\x00\x01\x02binary\x00", "it is a binary file"),
        (b"\xff\xfe\xfa not utf-8", "not UTF-8 text"),
        (b"{not json}", "invalid JSON at line 1"),
        (b'{"resourceSpans": [{"scopeSpans": [', "truncated JSON"),
        (b'{"a": 1}\n{"b": ', "invalid JSON on line 2"),
        (b'{"hello": "world"}', "no known trace format"),
        (b"[1, 2, 3]", "no known trace format"),
        (b"42", "no known trace format"),
        (b'{"post": 1, "patch": []}', "'post' and 'patch' must be lists of runs"),
        (b"[" * 100_000, "JSON"),
    ],
)
def test_unreadable_file_names_the_problem(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "trace.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        load_trace_file(path)
    assert problem in str(caught.value)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_trace(str(tmp_path / "absent.json"))
    with pytest.raises(InputError, match="no such file"):
        load_trace_file(tmp_path / "absent.json")


def test_directory_is_not_a_trace(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="it is a directory"):
        load_trace_file(tmp_path)


def test_parent_cycle(tmp_path: Path) -> None:
    path = tmp_path / "cycle.json"
    path.write_text(
        _otlp(
            {"spanId": "00000000000000a1", "parentSpanId": "00000000000000a2"},
            {"spanId": "00000000000000a2", "parentSpanId": "00000000000000a1"},
        )
    )
    with pytest.raises(InputError, match="part of a parent cycle"):
        load_trace_file(path)


def test_missing_parent(tmp_path: Path) -> None:
    path = tmp_path / "partial.json"
    path.write_text(
        _otlp(
            {"spanId": "00000000000000a1"},
            {"spanId": "00000000000000a3", "parentSpanId": "00000000000000ff"},
        )
    )
    with pytest.raises(InputError, match="names parent 00000000000000ff, which is not in the file"):
        load_trace_file(path)


def test_langsmith_missing_parent(tmp_path: Path) -> None:
    path = tmp_path / "runs.json"
    runs = [
        {"id": "r1", "run_type": "chain", "name": "a"},
        {"id": "r2", "run_type": "llm", "name": "b", "parent_run_id": "r9"},
    ]
    path.write_text(json.dumps(runs))
    with pytest.raises(InputError, match="run r2 names parent r9"):
        load_trace_file(path)


def test_span_without_id(tmp_path: Path) -> None:
    path = tmp_path / "noid.json"
    path.write_text(_otlp({}))
    with pytest.raises(InputError, match="a span has no spanId"):
        load_trace_file(path)


def test_otlp_without_spans(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"resourceSpans": []}))
    with pytest.raises(InputError, match="it holds no trace"):
        load_trace_file(path)
