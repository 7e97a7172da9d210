"""Timestamps as sources write them become timezone-aware datetimes, or None when unreadable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from refinery.traces.timeparse import parse_time

NOON = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-01T12:00:00Z", NOON),
        ("2026-10-01T12:00:00+00:00", NOON),
        ("2026-10-01T12:00:00", NOON),  # no offset: read as UTC
        ("2026-10-01T14:00:00+02:00", NOON.astimezone(timezone(timedelta(hours=2)))),
        (1790856000, NOON),  # epoch seconds
        (1790856000.0, NOON),
        ("1790856000000", NOON),  # epoch milliseconds, as text
        (1790856000000000, NOON),  # microseconds
        (1790856000000000000, NOON),  # nanoseconds
        ("00", datetime(1970, 1, 1, tzinfo=UTC)),  # digits that are not the "0" placeholder
    ],
)
def test_a_timestamp_in_any_source_shape_is_read(value: Any, expected: datetime) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value", [None, "", "0", 0, 0.0, False, True, "yesterday", float("nan"), [1], {"t": 1}]
)
def test_a_missing_or_unreadable_timestamp_is_none(value: Any) -> None:
    assert parse_time(value) is None
