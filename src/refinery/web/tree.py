"""The run tree for engineers: one level at a time, children loaded when a node is opened.

A trace may hold 50,000 runs under one parent, so a level is served in pages: the page never
builds more nodes than it shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..traces.model import Run, Trace

PAGE = 100


@dataclass(frozen=True, kw_only=True)
class Node:
    """One run as a tree row."""

    run_id: str
    name: str
    kind: str
    children: int
    failed: bool
    duration: str
    divergence: bool


@dataclass(frozen=True, kw_only=True)
class Level:
    """A page of one parent's children (the roots when ``parent`` is None)."""

    parent: str | None
    nodes: tuple[Node, ...]
    offset: int
    total: int

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, or None at the end."""
        end = self.offset + len(self.nodes)
        return end if end < self.total else None


def tree_level(
    trace: Trace, parent: str | None, offset: int = 0, divergence: str | None = None
) -> Level:
    """Children of ``parent`` (or the roots), ``PAGE`` at a time from ``offset``."""
    runs = trace.roots if parent is None else trace.children(parent)
    offset = max(0, min(offset, len(runs)))
    nodes = tuple(_node(trace, run, divergence) for run in runs[offset : offset + PAGE])
    return Level(parent=parent, nodes=nodes, offset=offset, total=len(runs))


def _node(trace: Trace, run: Run, divergence: str | None) -> Node:
    return Node(
        run_id=run.id,
        name=run.name or run.id,
        kind=run.kind.value,
        children=len(trace.children(run.id)),
        failed=run.failed,
        duration=_duration(run),
        divergence=run.id == divergence,
    )


def _duration(run: Run) -> str:
    if run.start_time is None or run.end_time is None:
        return ""
    seconds = (run.end_time - run.start_time).total_seconds()
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"
