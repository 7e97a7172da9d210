"""Reading a trace file costs what its limit allows: memory bounded, surrogates repaired."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refinery.config import DEFAULT_MAX_TRACE_BYTES, Settings
from refinery.errors import InputError
from refinery.traces import load_trace, load_trace_file
from refinery.traces.reading import may_hold_surrogates, read_trace_bytes
from sample_paths import DATA, EXAMPLES

TRACE = EXAMPLES / "weather-agent" / "trace.json"
LANGFUSE = DATA / "langfuse_fetch_weather_observations.json"


def _peak_bytes_while(path: Path, limit: int) -> tuple[int, str]:
    tracemalloc.start()
    try:
        load_trace_file(path, max_bytes=limit)
    except InputError as exc:
        message = str(exc)
    else:
        message = ""
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, message


def test_a_big_sparse_file_is_refused_after_reading_only_its_first_bytes(tmp_path: Path) -> None:
    sparse = tmp_path / "trace.json"
    with sparse.open("wb") as file:
        file.truncate(256 * 1024**2)

    peak, message = _peak_bytes_while(sparse, limit=1024**3)

    assert message.endswith("it is a binary file: give a trace export")
    assert peak < 1024**2  # 256 MB on disk, under 1 MB read


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "trace.json"
    big.write_bytes(b" " * (8 * 1024**2))

    peak, message = _peak_bytes_while(big, limit=1024**2)

    assert "8,388,608 bytes, over the 1,048,576-byte limit" in message
    assert peak < 256 * 1024


def test_the_limit_comes_from_settings_for_load_trace(tmp_path: Path) -> None:
    settings = Settings(repo_root=tmp_path, max_trace_bytes=100)

    with pytest.raises(InputError, match="over the 100-byte limit"):
        load_trace(str(TRACE), settings)


def test_lone_surrogates_become_replacement_characters_and_pairs_stay(tmp_path: Path) -> None:
    doc = json.loads(TRACE.read_text())
    root = doc["runs"][0]
    root["inputs"]["input"] = "lone \ud800 high, lone \udfff low, pair \U0001f600"
    root["extra"]["metadata"]["k\udc00ey"] = "value"
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(doc))

    trace = load_trace_file(path)

    assert trace.root.inputs["input"] == "lone \ufffd high, lone \ufffd low, pair \U0001f600"
    assert trace.metadata["warnings"] == [
        "trace.json holds lone surrogate escapes such as \\ud800 (invalid Unicode): "
        "each was replaced with U+FFFD"
    ]
    trace.model_dump_json().encode("utf-8")  # the crash this prevents: UnicodeEncodeError


def test_an_escaped_backslash_before_u_is_no_surrogate(tmp_path: Path) -> None:
    doc = json.loads(TRACE.read_text())
    doc["runs"][0]["inputs"]["input"] = "a Windows path C:\\ud800\\file"
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(doc))

    trace = load_trace_file(path)

    assert trace.root.inputs["input"] == "a Windows path C:\\ud800\\file"
    assert "warnings" not in trace.metadata


def test_a_surrogate_in_json_text_nested_in_a_field_is_replaced_too(tmp_path: Path) -> None:
    doc = json.loads(LANGFUSE.read_text())
    messages = json.loads(doc["data"][1]["input"])
    messages[1]["content"] = "What's the weather in Paris? \ud800"
    doc["data"][1]["input"] = json.dumps(messages)  # Langfuse sends input as JSON text
    path = tmp_path / "observations.json"
    path.write_text(json.dumps(doc))

    trace = load_trace_file(path)

    llm = trace.runs[1]
    assert llm.input_messages[1].content == "What's the weather in Paris? \ufffd"
    assert trace.metadata["warnings"] == [
        "observations.json holds lone surrogate escapes such as \\ud800 (invalid Unicode): "
        "each was replaced with U+FFFD"
    ]


def test_reading_takes_one_buffer_of_the_file_size_not_of_the_limit(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    trace.write_bytes(TRACE.read_bytes() + b" " * (4 * 1024**2))  # 4 MB of trailing whitespace
    size = trace.stat().st_size

    tracemalloc.start()
    data = read_trace_bytes(trace, limit=DEFAULT_MAX_TRACE_BYTES)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert len(data) == size
    assert peak < 1.2 * size  # not the 512 MiB the limit would allow


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_a_file_reporting_no_size_is_read_on_up_to_the_limit() -> None:
    status = Path("/proc/self/status")  # a regular file whose reported size is 0

    assert b"Name:" in read_trace_bytes(status, limit=1024**2)
    with pytest.raises(InputError) as caught:
        read_trace_bytes(status, limit=10)
    assert str(caught.value) == (
        f"cannot read {status}: it holds more than the size it reported, over the 10-byte limit: "
        "raise --max-trace-bytes (or REFINERY_MAX_TRACE_BYTES) if the trace is real"
    )


@pytest.mark.parametrize(
    ("text", "lone"),
    [
        ("pair \U0001f600", False),
        ("lone high \ud800", True),
        ("lone low \udc00", True),
        ("two highs \ud800\ud800", True),
        ("plain", False),
    ],
)
def test_only_lone_surrogate_escapes_make_a_document_suspect(text: str, lone: bool) -> None:
    assert may_hold_surrogates(json.dumps(text)) is lone
    assert may_hold_surrogates(json.dumps(json.dumps(text))) is lone  # JSON text in a field


@given(st.text(alphabet=["a", "\\", "\ud83d", "\ude00", "\ud800", "\udfff", "\U0001f600"]))
def test_a_document_is_suspect_exactly_when_decoding_leaves_a_surrogate(text: str) -> None:
    decoded = json.loads(json.dumps(text))  # the decoder joins each escaped pair into one
    lone = any("\ud800" <= char <= "\udfff" for char in decoded)

    assert may_hold_surrogates(json.dumps(text)) is lone
    assert may_hold_surrogates(json.dumps(json.dumps(text))) is lone
