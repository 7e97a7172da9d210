from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from refinery import __version__


def _refinery(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    code = "from refinery.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, check=False
    )


def test_version_prints_the_package_version() -> None:
    result = _refinery("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"refinery {__version__}"


def test_help_lists_the_commands() -> None:
    result = _refinery("--help")
    assert result.returncode == 0
    for command in ("analyze", "token-analysis", "context", "undo"):
        assert command in result.stdout


def test_bad_trace_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "trace.json"
    bad.write_text('{"runs": [')
    result = _refinery("analyze", str(bad), "--project", "p", "--expected", "x", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: cannot read {bad}: truncated JSON: export the trace again"
    ]
    assert "Traceback" not in result.stderr
