"""The ``--verbose`` transcript: every prompt sent to an LLM and every raw answer, as JSON Lines.

One file per analysis, ``.refinery/logs/<UTC timestamp>_<provider>.jsonl``, one line per call,
appended as each call returns (or fails), so an interrupted or failed analysis still leaves what
happened. What is logged is exactly what was sent: the redacted prompts (unless ``--no-redact``),
never the originals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Settings

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def log_path(settings: Settings, provider: str, *, now: datetime | None = None) -> Path:
    """Where this analysis' transcript goes: a new file named by the time and the provider."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return settings.state_dir / "logs" / f"{stamp}_{_UNSAFE.sub('-', provider) or 'llm'}.jsonl"


def append_log(path: Path, entry: Mapping[str, Any]) -> None:
    """Append one call (prompt, response or error) to the transcript at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"time": datetime.now(UTC).isoformat(), **entry}, ensure_ascii=False)
    with path.open("a", encoding="utf-8") as log:
        log.write(line + "\n")


def read_log(path: Path) -> list[dict[str, Any]]:
    """The calls of a transcript, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
