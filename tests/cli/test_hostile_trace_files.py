"""Trace paths that are not what they seem, through the real ``refinery`` entry point.

A FIFO, a symlink to ``/dev/zero``, a 2 GB sparse file, a file over ``--max-trace-bytes``: each is
refused with one line and exit 2 before anything is read or written (no ``.refinery/``). Valid JSON
holding a lone surrogate (``\\ud800``) is analysed with the character replaced and a warning.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from refinery.cli import main
from sample_paths import EXAMPLES

TRACE = EXAMPLES / "weather-agent" / "trace.json"
ANALYZE = ("analyze", "--project", "p", "--expected", "should say the service is down")
posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs and devices")


def _refinery(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run ``refinery ARGS`` in-process: its exit code, stdout and stderr."""
    monkeypatch.setattr(sys, "argv", ["refinery", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fifo(workdir: Path) -> Iterator[Path]:
    """A named pipe; should a read ever block on it, a writer comes after 5 s to end the test."""
    path = workdir / "trace.json"
    os.mkfifo(path)
    rescue = threading.Timer(5.0, lambda: os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK)))
    rescue.start()
    yield path
    rescue.cancel()


def _refused(code: int, out: str, err: str, workdir: Path, line: str) -> None:
    assert (code, out) == (2, "")
    assert err == f"error: {line}\n"
    assert not (workdir / ".refinery").exists()


@posix_only
def test_a_fifo_is_refused_without_waiting_for_a_writer(
    fifo: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _refinery(monkeypatch, capsys, *ANALYZE[:1], str(fifo), *ANALYZE[1:])

    _refused(code, out, err, workdir, f"cannot read {fifo}: it is a named pipe (FIFO), not a "
             "regular file: give a trace file saved to disk")  # fmt: skip


@posix_only
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_symlink_to_dev_zero_is_refused_unread(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    link = workdir / "trace.json"
    link.symlink_to("/dev/zero")

    code, out, err = _refinery(monkeypatch, capsys, "token-analysis", str(link))

    _refused(code, out, err, workdir, f"cannot read {link}: it is a character device, not a "
             "regular file: give a trace file saved to disk")  # fmt: skip


def test_a_2gb_sparse_file_is_refused_by_its_size(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sparse = workdir / "trace.json"
    with sparse.open("wb") as file:
        file.truncate(2 * 1024**3)

    code, out, err = _refinery(monkeypatch, capsys, *ANALYZE[:1], str(sparse), *ANALYZE[1:])

    _refused(code, out, err, workdir, f"cannot read {sparse}: it is 2,147,483,648 bytes, over the "
             "536,870,912-byte limit: raise --max-trace-bytes (or REFINERY_MAX_TRACE_BYTES) if "
             "the trace is real")  # fmt: skip


def test_under_a_raised_limit_a_sparse_file_is_called_binary_from_its_first_bytes(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sparse = workdir / "trace.json"
    with sparse.open("wb") as file:
        file.truncate(2 * 1024**3)

    code, out, err = _refinery(
        monkeypatch, capsys, "token-analysis", str(sparse), "--max-trace-bytes", str(3 * 1024**3)
    )

    _refused(code, out, err, workdir, f"cannot read {sparse}: it is a binary file: give a trace "
             "export")  # fmt: skip


def test_max_trace_bytes_refuses_a_real_trace_one_byte_too_big(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = workdir / "trace.json"
    shutil.copyfile(TRACE, trace)
    size = trace.stat().st_size

    code, out, err = _refinery(
        monkeypatch, capsys, *ANALYZE[:1], str(trace), *ANALYZE[1:],
        "--max-trace-bytes", str(size - 1),
    )  # fmt: skip

    _refused(code, out, err, workdir, f"cannot read {trace}: it is {size:,} bytes, over the "
             f"{size - 1:,}-byte limit: raise --max-trace-bytes (or REFINERY_MAX_TRACE_BYTES) if "
             "the trace is real")  # fmt: skip
    monkeypatch.setenv("REFINERY_MAX_TRACE_BYTES", str(size))
    code, out, _ = _refinery(monkeypatch, capsys, "token-analysis", str(trace), "--json")
    assert code == 0 and json.loads(out)["trace"]["runs"] == 4


def _with_lone_surrogate(workdir: Path) -> Path:
    """The example trace with ``\\ud800`` (escaped, as valid JSON allows) in the root's input."""
    doc = json.loads(TRACE.read_text())
    doc["runs"][0]["inputs"]["input"] = "weather in Paris? \ud800"
    path = workdir / "trace.json"
    path.write_text(json.dumps(doc))  # ensure_ascii writes the lone surrogate as \ud800
    assert "\\ud800" in path.read_text()
    return path


def test_a_lone_surrogate_is_replaced_and_warned_about(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = _with_lone_surrogate(workdir)

    code, out, err = _refinery(monkeypatch, capsys, *ANALYZE[:1], str(trace), *ANALYZE[1:])

    assert code == 1 and err == ""  # no project files: nothing to fix, but analysed
    warning = (
        "trace.json holds lone surrogate escapes such as \\ud800 (invalid Unicode): "
        "each was replaced with U+FFFD"
    )
    assert f"warning: {warning}" in " ".join(out.split())
    code, out, err = _refinery(
        monkeypatch, capsys, *ANALYZE[:1], str(trace), *ANALYZE[1:], "--json"
    )
    assert code == 1 and err == ""
    result = json.loads(out)
    assert result["warnings"][0] == warning
    code, out, err = _refinery(monkeypatch, capsys, "token-analysis", str(trace), "--json")
    assert code == 0 and err == f"warning: {warning}\n"
    assert json.loads(out)["trace"]["runs"] == 4
