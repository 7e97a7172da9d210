"""Timestamps as sources write them: ISO 8601 text, epoch seconds, milliseconds or nanoseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """A timezone-aware datetime, or None for anything unreadable."""
    if isinstance(value, str):  # the common case first: ISO text
        return _from_text(value)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return _from_number(float(value)) if value != 0 else None


def _from_text(value: str) -> datetime | None:
    if value == "0":
        return None
    if value.isdigit():
        return _from_number(float(int(value)))
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _from_number(number: float) -> datetime | None:
    for scale in (
        1,
        1e3,
        1e6,
        1e9,
    ):  # seconds, ms, µs, ns: pick the one that lands in a plausible range
        seconds = number / scale
        if seconds < 4_102_444_800:  # 2100-01-01
            try:
                return datetime.fromtimestamp(seconds, tz=UTC)
            except (OverflowError, OSError, ValueError):
                return None
    return None
