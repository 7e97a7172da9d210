"""Rendering: a selection plan turned into text, with every omission marked and accounted for.

Runs appear in execution order, indented by depth. A run left out joins a gap shown as one marker
``[… 12 runs elided: tool×8, llm×4 …]``; an ancestor kept only for context is a one-line header; a
repeated text is shown at its first showing and referenced afterwards; consecutive references
(to one run or several), or consecutive fully elided pieces, collapse into one line. A piece's
label line carries no run id: the run's header just above it does. A shortened piece keeps
its head, tail and evidence spans and marks each gap ``[… 3,210 chars elided …]``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ...traces.model import Run, Trace
from .pieces import MIN_GAP, Piece, merge
from .plan import Plan
from .prepare import Prepared
from .result import CondensedTrace, Elision

_LABEL = re.compile(r"(\w+)\[(\d+)\]")
"""A message label's side and index: ``input[3] user``."""


@dataclass(kw_only=True)
class _Shared:
    """The first showing of a repeated text: where it is, and how it is cut across its repeats."""

    run_id: str
    label: str
    cap: int | None
    spans: tuple[tuple[int, int], ...]
    cut: bool = False


@dataclass(kw_only=True)
class _Output:
    lines: list[str] = field(default_factory=list)
    elisions: list[Elision] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    verbatim: list[str] = field(default_factory=list)
    model: str | None = None
    """The model named by the last header: a header names its model only when it changes."""


@dataclass(kw_only=True)
class _Group:
    """Consecutive pieces shown as one line: all elided, or all as shown in earlier runs."""

    key: str = ""
    """``elided``, or ``ref`` (shown in earlier runs); empty for no group."""
    pieces: list[Piece] = field(default_factory=list)


def render(
    prepared: Prepared, plan: Plan, budget: int, counter: Callable[[str], int]
) -> CondensedTrace:
    """The text of ``plan``, counted exactly by ``counter``."""
    trace = prepared.trace
    shared = _shared_texts(prepared, plan)
    out = _Output(lines=[_preamble(trace)])
    gap: list[Run] = []
    for run in trace.runs:
        if run.id not in plan.caps and run.id not in plan.headers:
            gap.append(run)
            continue
        _flush_gap(prepared, gap, out)
        gap = []
        _render_run(prepared, plan, run, shared, out)
    _flush_gap(prepared, gap, out)
    text = "\n".join(out.lines) + "\n"
    return CondensedTrace(
        text=text,
        kept_run_ids=tuple(out.kept),
        verbatim_run_ids=tuple(out.verbatim),
        elisions=tuple(out.elisions),
        tokens=counter(text),
        budget=budget,
    )


def _preamble(trace: Trace) -> str:
    return (
        f"Trace {trace.id} ({trace.format}, {len(trace.runs):,} runs): runs in execution order, "
        "indented by depth; model= shown when it changes; omissions marked [… …]."
    )


def _shared_texts(prepared: Prepared, plan: Plan) -> dict[str, _Shared]:
    """Each repeated text's first showing, cut no more than its least cut repeat."""
    shared: dict[str, _Shared] = {}
    for run_id in sorted(plan.caps, key=prepared.position.__getitem__):
        for piece, cap in zip(prepared.of(run_id), plan.caps[run_id], strict=True):
            key = piece.key
            if key is None:
                continue
            first = shared.get(key)
            if first is None:
                shared[key] = _Shared(run_id=run_id, label=piece.label, cap=cap, spans=piece.spans)
                continue
            first.cap = None if first.cap is None or cap is None else max(first.cap, cap)
            first.spans = merge((*first.spans, *piece.spans))
    return shared


def _flush_gap(prepared: Prepared, gap: list[Run], out: _Output) -> None:
    if not gap:
        return
    kinds = Counter(str(run.kind) for run in gap)
    summary = ", ".join(f"{kind}×{count}" for kind, count in kinds.most_common())
    noun = "run" if len(gap) == 1 else "runs"
    marker = f"[… {len(gap):,} {noun} elided: {summary} …]"
    out.lines.append(" " * prepared.indent(gap[0].id) + marker)
    out.elisions.append(Elision(marker=marker, run_ids=tuple(run.id for run in gap)))


def _header(prepared: Prepared, run: Run, out: _Output) -> str:
    parts = [f"▸ {run.kind} {run.name or '(unnamed)'} [run {run.id}]"]
    if run.model and run.model != out.model:
        parts.append(f"model={run.model}")
        out.model = run.model
    if run.finish_reason:
        parts.append(f"finish={run.finish_reason}")
    if run.failed:
        parts.append("status=error")
    kinds = dict.fromkeys(found.kind for found in prepared.findings.get(run.id, []))
    if kinds:
        parts.append("findings=" + ",".join(kinds))
    return " ".join(parts)


def _render_run(
    prepared: Prepared, plan: Plan, run: Run, shared: dict[str, _Shared], out: _Output
) -> None:
    out.kept.append(run.id)
    indent = " " * prepared.indent(run.id)
    header = indent + _header(prepared, run, out)
    if run.id not in plan.caps:
        _render_header_only(prepared, run, header, out)
        return
    out.lines.append(header)
    whole, group = True, _Group()
    for piece, cap in zip(prepared.of(run.id), plan.caps[run.id], strict=True):
        key = _group_key(run.id, piece, cap, shared)
        if key and key == group.key:
            group.pieces.append(piece)
            continue
        whole = _flush_group(run.id, indent, group, shared, out) and whole
        group = _Group(key=key, pieces=[piece] if key else [])
        if not key:
            whole = _render_piece(run.id, indent, piece, cap, shared, out) and whole
    whole = _flush_group(run.id, indent, group, shared, out) and whole
    if whole:
        out.verbatim.append(run.id)


def _render_header_only(prepared: Prepared, run: Run, header: str, out: _Output) -> None:
    """An ancestor shown for context: its header, its content marked as elided."""
    size = sum(len(piece.text) for piece in prepared.of(run.id))
    if not size:
        out.lines.append(header)
        out.verbatim.append(run.id)
        return
    marker = f"[… {size:,} chars elided …]"
    out.lines.append(f"{header} {marker}")
    out.elisions.append(Elision(marker=marker, run_id=run.id, field="content", chars=size))


def _group_key(run_id: str, piece: Piece, cap: int | None, shared: dict[str, _Shared]) -> str:
    first = shared.get(piece.key) if piece.key is not None else None
    spans = piece.spans
    if first is not None:
        if (first.run_id, first.label) != (run_id, piece.label):
            return "ref"
        cap, spans = first.cap, first.spans
    if cap != 0 or spans or len(piece.text) < MIN_GAP:
        return ""
    if first is not None:
        first.cut = True
    return "elided"


def _flush_group(
    run_id: str, indent: str, group: _Group, shared: dict[str, _Shared], out: _Output
) -> bool:
    """Render a group as one line; True when nothing of it is lost."""
    pieces = group.pieces
    if not pieces:
        return True
    names = _names(pieces)
    where = f"{indent}  "
    if group.key == "ref":
        out.lines.append(f"{where}{_reference(pieces, shared)}")
        return not any(shared[piece.text].cut for piece in pieces)
    chars = sum(len(piece.text) for piece in pieces)
    marker = f"[… {names} elided: {chars:,} chars …]"
    out.lines.append(f"{where}{marker}")
    out.elisions.append(Elision(marker=marker, run_id=run_id, field=names, chars=chars))
    return False


def _names(pieces: list[Piece]) -> str:
    """The labels of consecutive pieces: ``input[3] user``, ``input[0–43]``, or first … last."""
    if len(pieces) == 1:
        return pieces[0].label
    first, last = _LABEL.match(pieces[0].label), _LABEL.match(pieces[-1].label)
    if first and last and first[1] == last[1]:
        return f"{first[1]}[{first[2]}–{last[2]}]"
    return f"{pieces[0].label} … {pieces[-1].label}"


def _reference(pieces: list[Piece], shared: dict[str, _Shared]) -> str:
    """One line for consecutive texts shown in earlier runs: ``input[0–43]: [44 texts …]``."""
    owners = list(dict.fromkeys(shared[piece.text].run_id for piece in pieces))
    if len(pieces) == 1:
        return f"{pieces[0].label}: [{pieces[0].noun} as in run {owners[0]}]"
    names = _names(pieces)
    if len(owners) == 1:
        return f"{names}: [{len(pieces)} texts as in run {owners[0]}]"
    return f"{names}: [{len(pieces)} texts shown earlier, first in run {owners[0]}]"


def _render_piece(
    run_id: str,
    indent: str,
    piece: Piece,
    cap: int | None,
    shared: dict[str, _Shared],
    out: _Output,
) -> bool:
    """Append the piece (or a reference to its first showing); True when nothing of it is cut."""
    first = shared.get(piece.key) if piece.key is not None else None
    spans = piece.spans
    if first is not None:
        cap, spans = first.cap, first.spans
    text, gaps = _cut(piece.text, cap, spans)
    for marker, chars in gaps:
        out.elisions.append(Elision(marker=marker, run_id=run_id, field=piece.label, chars=chars))
    if first is not None:
        first.cut = bool(gaps)
    out.lines.append(f"{indent}  {piece.label}:")
    out.lines.append(text)
    return not gaps


def _cut(
    text: str, cap: int | None, spans: tuple[tuple[int, int], ...]
) -> tuple[str, list[tuple[str, int]]]:
    """Head, tail and protected spans of ``text``; the gaps become explicit markers."""
    if cap is None or len(text) < cap + sum(end - start for start, end in spans) + MIN_GAP:
        return text, []
    head = cap // 2
    keep = merge(((0, head), (len(text) - (cap - head), len(text)), *spans))
    parts: list[str] = []
    gaps: list[tuple[str, int]] = []
    cursor = 0
    for start, end in keep:
        if start - cursor >= MIN_GAP:
            marker = f"[… {start - cursor:,} chars elided …]"
            parts.append(marker)
            gaps.append((marker, start - cursor))
        else:
            parts.append(text[cursor:start])
        parts.append(text[start:end])
        cursor = end
    return "".join(parts), gaps
