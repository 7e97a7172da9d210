"""Selection: how much of each must-keep run fits, and whether room is left for others.

Must-keep texts are cut in tiers, least important first: the rest of the must-keep runs (tier 2),
then the root, system prompts and final output down to a floor (tier 1), and only then the runs
with findings (tier 0). When the finding runs do not all fit whole, they are not all cut to the
same length: the smallest are kept whole while they fit (a repeated text counted once, at the
first run that pays for it) and only the largest are cut, around their evidence. If dropping the
tier-1 floor keeps more finding runs whole, it is dropped. Every cut run shares one per-piece cap
(a water level) with the tier-1 texts still above it.

Sizes are in characters; a repeated text is counted once (it is shown once and referenced).
"""

from __future__ import annotations

from dataclasses import dataclass

from .fill import GAP_COST, fill
from .pieces import Piece
from .plan import Plan, new_ancestors
from .prepare import Prepared

_TIER_FLOORS = (0, 1000, 0)
"""Per-piece floors, in characters, before the next more important tier is cut: runs with
findings; the root, system prompts and final output; the rest of the runs kept for those."""


@dataclass(frozen=True, kw_only=True)
class _Unit:
    """A must-keep text counted once: its piece, its tier, the finding runs that show it."""

    tier: int
    piece: Piece
    runs: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class _Caps:
    """Finding runs kept whole, and the per-piece cap of each tier for everything else."""

    whole: frozenset[str]
    tiers: tuple[int | None, ...]

    def of(self, unit: _Unit) -> int | None:
        """The cap of a unit: whole when any run showing it is kept whole."""
        return None if self.whole.intersection(unit.runs) else self.tiers[unit.tier]


@dataclass(frozen=True, kw_only=True)
class MustKeep:
    """What every attempt shares: the must-keep units, their fixed size, their ancestors."""

    units: tuple[_Unit, ...]
    fixed: int
    """Characters that no cap shortens: evidence spans, headers, labels, references."""
    headers: frozenset[str]


def must_keep(prepared: Prepared) -> MustKeep:
    """The must-keep units and sizes of ``prepared``, computed once for all attempts."""
    plan = Plan(caps=dict.fromkeys(prepared.must, ()))
    headers = new_ancestors(prepared, plan, prepared.must)
    plan.headers.update(headers)
    units = _units(prepared)
    fixed = sum(unit.piece.fixed for unit in units) + _must_overhead(prepared, plan, len(units))
    return MustKeep(units=tuple(units), fixed=fixed, headers=frozenset(headers))


def select(prepared: Prepared, must: MustKeep, room: int) -> Plan:
    """The plan that fits ``room`` characters (an estimate): must-keep runs first, then others."""
    units = list(must.units)
    plan = Plan(headers=set(must.headers))
    caps = _must_caps(units, room - must.fixed)
    plan.minimal = not caps.whole and all(cap == 0 for cap in caps.tiers)
    plan.caps = {
        run_id: tuple(
            None if run_id in caps.whole else _floored(prepared, caps, run_id, piece)
            for piece in prepared.of(run_id)
        )
        for run_id in prepared.must
    }
    plan.paid.update(key for unit in units if (key := unit.piece.key) is not None)
    kept = sum(unit.piece.kept(caps.of(unit)) - unit.piece.fixed for unit in units)
    plan.chars = must.fixed + kept
    if all(cap is None for cap in caps.tiers):
        fill(prepared, plan, room)
    return plan


def _floored(prepared: Prepared, caps: _Caps, run_id: str, piece: Piece) -> int | None:
    """The piece's tier cap, raised to its floor (the root's input and the final output)."""
    cap = caps.tiers[prepared.tier(run_id, piece)]
    return None if cap is None else max(cap, prepared.floor(run_id, piece))


def _must_overhead(prepared: Prepared, plan: Plan, unique: int) -> int:
    """Headers, labels and references of the must-keep runs, and the headers of their ancestors."""
    headers = sum(prepared.header_cost(run_id) for run_id in (*prepared.must, *plan.headers))
    labels = [
        (prepared.label_cost(run_id, piece), prepared.reference_cost(run_id, piece))
        for run_id in prepared.must
        for piece in prepared.of(run_id)
    ]
    references = sorted(reference for _, reference in labels)[: max(len(labels) - unique, 0)]
    return (
        headers
        + GAP_COST * len(prepared.must)
        + sum(label for label, _ in labels)
        + sum(references)
    )


def _units(prepared: Prepared) -> list[_Unit]:
    """Must-keep pieces, a repeated text once, at the most important tier it occurs in."""
    best: dict[str, tuple[int, Piece]] = {}
    showing: dict[str, list[str]] = {}
    units: list[_Unit] = []
    for run_id in prepared.must:
        for piece in prepared.of(run_id):
            tier, key = prepared.tier(run_id, piece), piece.key
            runs = (run_id,) if tier == 0 else ()
            if key is None:
                units.append(_Unit(tier=tier, piece=piece, runs=runs))
                continue
            if key not in best or tier < best[key][0]:
                best[key] = (tier, piece)
            showing.setdefault(key, []).extend(runs)
    shared = [
        _Unit(tier=tier, piece=piece, runs=tuple(dict.fromkeys(showing[key])))
        for key, (tier, piece) in best.items()
    ]
    return units + shared


def _must_caps(units: list[_Unit], room: int) -> _Caps:
    """Whole finding runs and tier caps for ``room`` flexible characters."""
    flexible = [[unit.piece.flexible for unit in units if unit.tier == tier] for tier in range(3)]
    tiers = _tier_caps(flexible, room)
    if tiers[0] is None:
        return _Caps(whole=frozenset(), tiers=tuple(tiers))
    primary = [unit for unit in units if unit.tier == 0]
    options = [_knapsack(primary, flexible[1], room, floor) for floor in (_TIER_FLOORS[1], 0)]
    return max(options, key=lambda caps: len(caps.whole))


def _knapsack(primary: list[_Unit], system: list[int], room: int, floor: int) -> _Caps:
    """Smallest finding runs whole while they fit, tier 1 at ``floor``; the rest share a cap."""
    whole, paid = _whole_runs(primary, room - _capped(system, floor))
    used = sum(primary[index].piece.flexible for index in paid)
    rest = [unit.piece.flexible for index, unit in enumerate(primary) if index not in paid]
    if not rest:
        return _Caps(whole=whole, tiers=(None, _water_level(system, room - used), 0))
    level = _water_level(rest + [min(size, floor) for size in system], room - used)
    return _Caps(whole=whole, tiers=(level, floor if level is None else min(level, floor), 0))


def _whole_runs(primary: list[_Unit], room: int) -> tuple[frozenset[str], set[int]]:
    """Finding runs kept whole, smallest first, and the units they pay for."""
    by_run: dict[str, list[int]] = {}
    for index, unit in enumerate(primary):
        for run_id in unit.runs:
            by_run.setdefault(run_id, []).append(index)
    sizes = [unit.piece.flexible for unit in primary]
    ordered = sorted(by_run, key=lambda run_id: sum(sizes[index] for index in by_run[run_id]))
    whole: list[str] = []
    paid: set[int] = set()
    used = 0
    for run_id in ordered:
        extra = [index for index in by_run[run_id] if index not in paid]
        cost = sum(sizes[index] for index in extra)
        if used + cost <= room:
            whole.append(run_id)
            paid.update(extra)
            used += cost
    return frozenset(whole), paid


def _tier_caps(flexible: list[list[int]], room: int) -> list[int | None]:
    """Per-tier caps: the least important tier is cut first, each down to its floor."""
    caps: list[int | None] = [None] * len(flexible)
    for tier in reversed(range(len(flexible))):
        caps[tier] = None
        others = sum(_capped(flexible[t], caps[t]) for t in range(len(flexible)) if t != tier)
        floor = _TIER_FLOORS[tier]
        if room - others >= _capped(flexible[tier], floor):
            caps[tier] = _water_level(flexible[tier], room - others)
            return caps
        caps[tier] = floor
    level = _water_level([size for sizes in flexible[:-1] for size in sizes], room) or 0
    below: list[int | None] = [min(level, floor or level) for floor in _TIER_FLOORS[:-1]]
    return [*below, 0]


def _capped(sizes: list[int], cap: int | None) -> int:
    return sum(sizes) if cap is None else sum(min(size, cap) for size in sizes)


def _water_level(flexible: list[int], room: int) -> int | None:
    """The largest per-piece cap with ``sum(min(f, cap)) <= room``; None when all fit whole."""
    if sum(flexible) <= room:
        return None
    remaining = max(room, 0)
    ordered = sorted(flexible)
    for index, size in enumerate(ordered):
        share = remaining // (len(ordered) - index)
        if size > share:
            return share
        remaining -= size
    return 0
