"""The 95% Wilson interval behind every pass rate."""

from __future__ import annotations

import pytest

from refinery.verify.stats import wilson


@pytest.mark.parametrize(
    ("passed", "runs", "expected"),
    [(5, 5, (0.5655, 1.0)), (0, 5, (0.0, 0.4345)), (3, 5, (0.2307, 0.8824)), (0, 0, (0.0, 1.0))],
)
def test_wilson_interval_matches_the_textbook_values(
    passed: int, runs: int, expected: tuple[float, float]
) -> None:
    assert wilson(passed, runs) == pytest.approx(expected, abs=1e-4)
