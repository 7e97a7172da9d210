"""Reading a trace file costs what its limit allows: memory bounded, surrogates repaired."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from refinery.config import Settings
from refinery.errors import InputError
from refinery.traces import load_trace, load_trace_file
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
