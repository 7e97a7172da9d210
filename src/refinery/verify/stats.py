"""Pass rates with a 95% Wilson score interval: honest bounds for a handful of replays.

With 5 replays a rate of 5/5 still leaves a wide interval (0.57 to 1.0); the normal approximation
would claim 1.0 to 1.0. Wilson's interval stays inside [0, 1] and is sensible at 0 and K.
"""

from __future__ import annotations

import math

_Z95 = 1.959963984540054


def wilson(passed: int, runs: int, z: float = _Z95) -> tuple[float, float]:
    """The 95% Wilson score interval of ``passed`` successes in ``runs`` trials."""
    if runs <= 0:
        return 0.0, 1.0
    rate = passed / runs
    denominator = 1 + z * z / runs
    centre = (rate + z * z / (2 * runs)) / denominator
    spread = z * math.sqrt(rate * (1 - rate) / runs + z * z / (4 * runs * runs)) / denominator
    return max(0.0, round(centre - spread, 4)), min(1.0, round(centre + spread, 4))
