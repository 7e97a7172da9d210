"""Preparation: what is computed once per trace and shared by every selection attempt.

The runs that must stay (the root, every run with a finding or asked for, the first run of each
distinct system prompt, the final LLM output), the order in which the other runs fill the rest of
the budget (near a must-keep run, failed, LLM, tool, others), and each run's pieces, built lazily
because a 100,000-run trace shows only a few hundred of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ...errors import InputError
from ...traces.model import Run, RunKind, Trace
from ..findings import Finding
from .pieces import Piece, run_pieces

ANCHOR_MIN = 160
"""Characters kept of each piece of the root's input and of the final output, however tight."""
MAX_INDENT = 12
"""Deeper runs are indented as this depth, so a deep tree does not eat the budget in spaces."""


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """Everything computed once per trace, shared by all attempts."""

    trace: Trace
    position: dict[str, int]
    findings: dict[str, list[Finding]]
    must: tuple[str, ...]
    primary: frozenset[str]
    """Runs with a finding, and those the caller asked to keep: cut last."""
    final: str | None
    order: tuple[str, ...]
    pieces: dict[str, tuple[Piece, ...]] = field(default_factory=dict)
    indents: dict[str, int] = field(default_factory=dict)

    def indent(self, run_id: str) -> int:
        """Indentation of the run's lines, in characters."""
        if run_id not in self.indents:
            self.indents[run_id] = 2 * min(self.trace.depth(run_id), MAX_INDENT)
        return self.indents[run_id]

    def header_cost(self, run_id: str) -> int:
        """Characters of the run's header line (an estimate)."""
        run = self.trace.get(run_id)
        assert run is not None
        return self.indent(run_id) + len(run_id) + len(run.name) + len(run.model or "") + 40

    def label_cost(self, run_id: str, piece: Piece) -> int:
        """Characters of a piece's label line and line breaks."""
        return self.indent(run_id) + len(piece.label) + 5

    def reference_cost(self, run_id: str, piece: Piece) -> int:
        """Characters of a reference to a text shown in another run (beyond its label).

        Consecutive references share one line, so each costs about half a run id.
        """
        return len(run_id) // 2 + 4

    def floor(self, run_id: str, piece: Piece) -> int:
        """Characters a piece keeps however it is cut.

        Only the root's input and the final output have a floor: they never disappear entirely.
        """
        if run_id in self.primary:
            return 0
        root_input = run_id == self.trace.root.id and piece.label.startswith("input")
        final_output = run_id == self.final and piece.label.startswith("output")
        return ANCHOR_MIN if root_input or final_output else 0

    def tier(self, run_id: str, piece: Piece) -> int:
        """How late a must-keep piece is cut: 0 (runs with findings) last, 2 first."""
        if run_id in self.primary:
            return 0
        final_output = run_id == self.final and piece.label.startswith("output")
        if run_id == self.trace.root.id or piece.noun == "system prompt" or final_output:
            return 1
        return 2

    def of(self, run_id: str) -> tuple[Piece, ...]:
        """The run's pieces, built on first use."""
        if run_id not in self.pieces:
            run = self.trace.get(run_id)
            assert run is not None
            self.pieces[run_id] = run_pieces(run, self.findings.get(run_id, []))
        return self.pieces[run_id]


def prepare(trace: Trace, findings: Sequence[Finding], keep: tuple[str, ...]) -> Prepared:
    """Must-keep runs and fill order of ``trace``; findings on unknown runs go to the root."""
    missing = [run_id for run_id in keep if run_id not in trace]
    if missing:
        raise InputError(
            f"run {missing[0]} is not in the trace", "keep only ids of the trace's runs"
        )
    by_run: dict[str, list[Finding]] = {}
    for found in findings:
        run_id = found.run_id if found.run_id in trace else trace.root.id
        by_run.setdefault(run_id, []).append(found)
    final = _final_llm_run(trace)
    must = dict.fromkeys([trace.root.id, *by_run, *keep, *_system_prompt_runs(trace), *final])
    position = {run.id: index for index, run in enumerate(trace.runs)}
    order = _fill_order(trace, [position[run_id] for run_id in must])
    return Prepared(
        trace=trace,
        position=position,
        findings=by_run,
        must=tuple(must),
        primary=frozenset([*by_run, *keep]),
        final=final[0] if final else None,
        order=tuple(run_id for run_id in order if run_id not in must),
    )


def _system_prompt_runs(trace: Trace) -> list[str]:
    first: dict[str, str] = {}
    for run in trace.runs:
        for message in run.input_messages:
            if message.role == "system" and message.content not in first:
                first[message.content] = run.id
    return list(dict.fromkeys(first.values()))


def _final_llm_run(trace: Trace) -> list[str]:
    return next(([run.id] for run in reversed(trace.runs) if run.kind == RunKind.LLM), [])


def _fill_order(trace: Trace, anchors: list[int]) -> list[str]:
    distance = _distances(len(trace.runs), anchors)
    keyed = [
        (_priority(run, distance[index]), distance[index], index, run.id)
        for index, run in enumerate(trace.runs)
    ]
    keyed.sort()
    return [item[3] for item in keyed]


def _distances(count: int, anchors: list[int]) -> list[int]:
    """Distance in execution order from each position to the nearest anchor."""
    far = count + 1
    distance = [far] * count
    for index in anchors:
        distance[index] = 0
    for index in range(1, count):
        distance[index] = min(distance[index], distance[index - 1] + 1)
    for index in range(count - 2, -1, -1):
        distance[index] = min(distance[index], distance[index + 1] + 1)
    return distance


def _priority(run: Run, distance: int) -> int:
    if distance <= 2:
        return 0
    if run.failed:
        return 1
    return {RunKind.LLM: 2, RunKind.TOOL: 3}.get(run.kind, 4)
