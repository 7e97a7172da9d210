"""A plan: what one rendering attempt shows, built by selection and read by rendering.

Runs shown with content carry a cap per piece (None: whole); their ancestors that are not shown
otherwise become one-line headers, so every kept run is seen in its place in the tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .prepare import Prepared


@dataclass(kw_only=True)
class Plan:
    """What one attempt shows: runs with content (and their per-piece cap) and header-only runs."""

    caps: dict[str, tuple[int | None, ...]] = field(default_factory=dict)
    """Per piece of each run shown with content: its cap (None: whole)."""
    headers: set[str] = field(default_factory=set)
    paid: set[str] = field(default_factory=set)
    """Keys of repeated texts already shown once: later showings cost a reference."""
    chars: int = 0
    minimal: bool = False
    """True when nothing but evidence and headers is left: no smaller rendering exists."""

    def signature(self) -> tuple[object, ...]:
        """What the rendering depends on: equal signatures render the same text."""
        return tuple(self.caps.items()), frozenset(self.headers)


def new_ancestors(prepared: Prepared, plan: Plan, run_ids: Iterable[str]) -> list[str]:
    """Ancestors of ``run_ids`` not yet shown, nearest first for each run."""
    found: dict[str, None] = {}
    for run_id in run_ids:
        for ancestor in prepared.trace.ancestors(run_id):
            if ancestor.id in plan.caps or ancestor.id in plan.headers or ancestor.id in found:
                break
            found[ancestor.id] = None
    return list(found)
