"""Filling: once every must-keep run is whole, the rest of the budget goes to other runs.

Runs come in the prepared priority order (near a must-keep run, failed, LLM, tool, others). A run
is shown whole when it takes at most 1/8 of the room left, else each of its pieces is capped, so
one huge run does not crowd out its neighbours. Too many misses in a row end the search: on a
100,000-run trace the tail of the order would not fit anyway.
"""

from __future__ import annotations

from .plan import Plan, new_ancestors
from .prepare import Prepared

GAP_COST = 50
"""Characters of a ``[… n runs elided …]`` line (an estimate)."""
_MIN_RUN_COST = 110
_MAX_MISSES = 400
_FILL_CAP = (400, 4000)
"""Bounds of the per-piece cap of a filling run too big to show whole."""
_WHOLE_SHARE = 8
"""A filling run is shown whole when it takes at most 1/8 of the room left."""


def fill(prepared: Prepared, plan: Plan, room: int) -> None:
    """Add runs to ``plan`` in priority order while they fit ``room`` characters."""
    cap = min(max((room - plan.chars) // 12, _FILL_CAP[0]), _FILL_CAP[1])
    misses = 0
    for run_id in prepared.order:
        left = room - plan.chars
        if left < _MIN_RUN_COST or misses > _MAX_MISSES:
            return
        new = new_ancestors(prepared, plan, [run_id])
        ancestors = sum(prepared.header_cost(ancestor) for ancestor in new)
        whole = _fill_cost(prepared, plan, run_id, None) + ancestors
        chosen: tuple[int | None, int] = (None, whole)
        if whole > left // _WHOLE_SHARE:
            chosen = (cap, _fill_cost(prepared, plan, run_id, cap) + ancestors)
        if chosen[1] > left:
            misses += 1
            continue
        _add(prepared, plan, run_id, chosen)


def _add(prepared: Prepared, plan: Plan, run_id: str, chosen: tuple[int | None, int]) -> None:
    plan.headers.update(new_ancestors(prepared, plan, [run_id]))
    plan.headers.discard(run_id)
    plan.caps[run_id] = (chosen[0],) * len(prepared.of(run_id))
    plan.paid.update(key for piece in prepared.of(run_id) if (key := piece.key) is not None)
    plan.chars += chosen[1]


def _fill_cost(prepared: Prepared, plan: Plan, run_id: str, cap: int | None) -> int:
    cost = GAP_COST + (0 if run_id in plan.headers else prepared.header_cost(run_id))
    for piece in prepared.of(run_id):
        paid = piece.key is not None and piece.key in plan.paid
        cost += prepared.label_cost(run_id, piece)
        cost += prepared.reference_cost(run_id, piece) if paid else piece.kept(cap)
    return cost
