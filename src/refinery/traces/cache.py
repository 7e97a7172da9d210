"""The on-disk cache of fetched traces: raw run dicts under ``.refinery/cache/<source>/``.

A fetched trace is stored as the source gave it (LangSmith run dicts, Langfuse observation dicts),
not as a parsed ``Trace``, so a cached load goes through the same parser as a fresh fetch. Entries
are keyed by source and trace id; any other id that resolved to the trace (a non-root run id) is
stored as a small alias entry pointing at it. Entries older than ``settings.cache_ttl_seconds`` are
stale; ``settings.use_cache`` False (``--no-cache``) bypasses reads and writes. An unreadable or
corrupt entry is treated as a miss, because the cache is only ever a shortcut to a refetch.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..atomic import write_atomic
from ..config import Settings

CACHE_DIR = "cache"
"""The cache's folder under ``.refinery/`` (kept out of git by ``.refinery/.gitignore``)."""
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def cache_get(
    settings: Settings, source: str, key: str, *, now: float | None = None
) -> list[dict[str, Any]] | None:
    """The cached raw runs of ``key`` (a trace id or an alias), or None when absent or stale.

    Args:
        settings: the cache directory, TTL and ``use_cache``.
        source: ``langsmith`` or ``langfuse``.
        key: the id the user gave.
        now: the current time (epoch seconds); the system clock when None.
    """
    if not settings.use_cache:
        return None
    clock = time.time() if now is None else now
    entry = _fresh_entry(_entry_path(settings, source, key), settings.cache_ttl_seconds, clock)
    if entry is not None and isinstance(entry.get("alias_of"), str):
        target = _entry_path(settings, source, entry["alias_of"])
        entry = _fresh_entry(target, settings.cache_ttl_seconds, clock)
    runs = entry.get("runs") if entry is not None else None
    if isinstance(runs, list) and all(isinstance(run, dict) for run in runs):
        return runs
    return None


def cache_put(
    settings: Settings,
    source: str,
    trace_id: str,
    runs: list[dict[str, Any]],
    *,
    aliases: Iterable[str] = (),
    now: float | None = None,
) -> None:
    """Store the raw runs of ``trace_id``, and an alias entry for each other id that led to it."""
    if not settings.use_cache:
        return
    fetched_at = time.time() if now is None else now
    base = {"source": source, "fetched_at": fetched_at}
    _write_json(_entry_path(settings, source, trace_id), {**base, "key": trace_id, "runs": runs})
    for alias in set(aliases) - {trace_id}:
        _write_json(
            _entry_path(settings, source, alias), {**base, "key": alias, "alias_of": trace_id}
        )


def _entry_path(settings: Settings, source: str, key: str) -> Path:
    """A file name that is the id itself when it is safe, else its hash (ids come from users)."""
    name = key if _SAFE_KEY.match(key) else hashlib.sha256(key.encode()).hexdigest()
    return settings.state_dir / CACHE_DIR / _safe_source(source) / f"{name}.json"


def _safe_source(source: str) -> str:
    return source if _SAFE_KEY.match(source) else hashlib.sha256(source.encode()).hexdigest()[:16]


def _fresh_entry(path: Path, ttl_seconds: int, now: float) -> dict[str, Any] | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(entry, dict):
        return None
    fetched_at = entry.get("fetched_at")
    if not isinstance(fetched_at, int | float) or now - fetched_at >= ttl_seconds:
        return None
    return entry


def _write_json(path: Path, value: dict[str, Any]) -> None:
    """Write atomically: a reader sees the old entry or the new one, never half of one."""
    write_atomic(path, json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"))
