"""Condensation: a trace cut to a token budget for an LLM to read, without losing evidence.

A trace of thousands of runs does not fit a prompt, and a prompt that silently drops the run where
things went wrong produces a confident wrong diagnosis. So condensation works in two tiers: the
runs that must stay (the root, every run with a finding, the first run of each distinct system
prompt, the final LLM output) are kept, and only their non-evidence text is shortened if even they
do not fit; the rest of the budget is filled by priority (runs near findings, failed runs, LLM
runs, tool runs, others), with the ancestors of every kept run shown as one-line headers.

A run's content is split into *pieces* (its error, each message, tool arguments and result, input
and output fields). A long text that repeats across runs (a system prompt, a conversation history
resent to every LLM call) is shown once and referenced afterwards. A long piece is cut to its head
and tail plus a window around every evidence quote, so evidence is never cut. Every omission is
marked in the text: ``[… 12 runs elided: tool×8, llm×4 …]`` for runs left out and
``[… 3,210 chars elided …]`` inside a shortened field.

Sizes are estimated in characters while selecting (cheap on a 100,000-run trace); the rendered text
is counted exactly and the selection redone with a corrected ratio when the estimate was off.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..errors import InputError
from ..traces.model import Message, Run, RunKind, Trace
from .findings import Finding
from .tokens import count_tokens

_CHARS_PER_TOKEN = 3.6
"""First guess of characters per token; corrected from the exact count of each rendering."""
_ATTEMPTS = 5
_SHARED_MIN = 64
"""Texts at least this long are shown once and referenced when they repeat."""
_WINDOW = 120
"""Characters of context kept either side of an evidence quote in a shortened piece."""
_MIN_GAP = 100
"""Gaps shorter than this are kept: a marker would save next to nothing."""
_MIN_RUN_COST = 110
_MARKER_COST = 26
_GAP_COST = 50
_MAX_INDENT = 12
_MAX_MISSES = 400
_TIER_FLOORS = (0, 1000, 0)
"""Per-piece floors, in characters, before the next more important tier is cut: runs with
findings; the root, system prompts and final output; the rest of the runs kept for those."""
_FILL_CAP = (400, 4000)
"""Bounds of the per-piece cap of a filling run too big to show whole."""
_WHOLE_SHARE = 8
"""A filling run is shown whole when it takes at most 1/8 of the room left."""
_QUOTES_PER_PIECE = 3


class Elision(BaseModel):
    """One explicit omission in the text: runs left out, or characters cut from a field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    marker: str
    """The marker exactly as it appears in the text."""
    run_ids: tuple[str, ...] = ()
    """For a run elision: the runs left out, in execution order."""
    run_id: str | None = None
    """For a character elision: the run whose content was shortened."""
    field: str | None = None
    """For a character elision: which piece (``error``, ``input[0] system``, ``content``)."""
    chars: int = 0
    """For a character elision: how many characters were left out."""


class CondensedTrace(BaseModel):
    """A trace rendered for an LLM within a token budget, with every omission accounted for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    """The rendering: one block per kept run, labelled with run ids, elisions marked."""
    kept_run_ids: tuple[str, ...]
    """Runs shown (in full, shortened, or as an ancestor's one-line header), in execution order."""
    verbatim_run_ids: tuple[str, ...]
    """Kept runs whose whole content is in the text (directly or by reference to a repeat)."""
    elisions: tuple[Elision, ...]
    """Every omission, in text order."""
    tokens: int
    """Exact token count of ``text``."""
    budget: int
    """The token budget asked for."""
    over_budget: bool = False
    """True when the runs that must stay (with their evidence) do not fit the budget."""
    note: str = ""
    """Why the budget was exceeded, when it was."""


@dataclass(frozen=True, kw_only=True)
class _Piece:
    """One text of a run, with the spans (evidence and its context) that must never be cut."""

    label: str
    noun: str
    text: str
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def key(self) -> str | None:
        """Identity for sharing repeated texts (long ones, and every system prompt); else None."""
        shared = len(self.text) >= _SHARED_MIN or self.noun == "system prompt"
        return self.text if shared else None

    @property
    def fixed(self) -> int:
        return sum(end - start for start, end in self.spans)


@dataclass(kw_only=True)
class _Plan:
    """What one attempt shows: runs with content (and their per-piece cap) and header-only runs."""

    caps: dict[str, tuple[int | None, ...]] = field(default_factory=dict)
    """Per piece of each run shown with content: its cap (None: whole)."""
    headers: set[str] = field(default_factory=set)
    paid: set[str] = field(default_factory=set)
    chars: int = 0
    minimal: bool = False


@dataclass(frozen=True, kw_only=True)
class _Prepared:
    """Everything computed once per trace, shared by all attempts."""

    trace: Trace
    position: dict[str, int]
    findings: dict[str, list[Finding]]
    must: tuple[str, ...]
    primary: frozenset[str]
    """Runs with a finding, and those the caller asked to keep: cut last."""
    final: str | None
    order: tuple[str, ...]
    pieces: dict[str, tuple[_Piece, ...]] = field(default_factory=dict)

    def header_cost(self, run_id: str) -> int:
        """Characters of the run's header line (an estimate)."""
        run = self.trace.get(run_id)
        assert run is not None
        return self._indent(run_id) + len(run_id) + len(run.name) + len(run.model or "") + 40

    def label_cost(self, run_id: str, piece: _Piece) -> int:
        """Characters of a piece's label line and line breaks."""
        return self._indent(run_id) + len(run_id) + len(piece.label) + 14

    def reference_cost(self, run_id: str, piece: _Piece) -> int:
        """Characters of a reference to a text shown in another run (beyond its label)."""
        return len(piece.noun) + len(run_id) + 16 - 2

    def _indent(self, run_id: str) -> int:
        return 2 * min(self.trace.depth(run_id), _MAX_INDENT)

    def tier(self, run_id: str, piece: _Piece) -> int:
        """How late a must-keep piece is cut: 0 (runs with findings) last, 2 first."""
        if run_id in self.primary:
            return 0
        final_output = run_id == self.final and piece.label.startswith("output")
        if run_id == self.trace.root.id or piece.noun == "system prompt" or final_output:
            return 1
        return 2

    def of(self, run_id: str) -> tuple[_Piece, ...]:
        """The run's pieces, built on first use."""
        if run_id not in self.pieces:
            run = self.trace.get(run_id)
            assert run is not None
            self.pieces[run_id] = _run_pieces(run, self.findings.get(run_id, []))
        return self.pieces[run_id]


def condense(
    trace: Trace,
    findings: Sequence[Finding],
    budget: int = 30_000,
    *,
    model: str | None = None,
    keep: Iterable[str] = (),
) -> CondensedTrace:
    """Render ``trace`` within ``budget`` tokens, keeping every finding's run and evidence.

    Args:
        trace: The trace to condense.
        findings: Detector findings; their runs are always kept and their evidence never cut.
        budget: Token budget for the text.
        model: The model that will read the text, for exact token counting.
        keep: Further run ids that must be kept, as finding runs are.

    Raises:
        InputError: a non-positive budget, or a ``keep`` id that is not in the trace.
    """
    if budget < 1:
        raise InputError(f"token budget {budget} is too small", "give a budget of at least 1 token")
    prepared = _prepare(trace, findings, tuple(keep))
    room = int(budget * _CHARS_PER_TOKEN)
    attempts: list[tuple[CondensedTrace, _Plan, int]] = []
    for _ in range(_ATTEMPTS):
        plan = _select(prepared, room)
        result = _render(prepared, plan, budget, model)
        attempts.append((result, plan, room))
        if _settled(result, plan):
            break
        room = _next_room(attempts, budget)
    if all(result.tokens > budget and not plan.minimal for result, plan, _ in attempts):
        plan = _select(prepared, 0)  # the estimate did not converge: the smallest rendering
        attempts.append((_render(prepared, plan, budget, model), plan, 0))
    best = _best([result for result, _, _ in attempts])
    return best if best.tokens <= budget else _flagged(best, prepared)


def _next_room(attempts: list[tuple[CondensedTrace, _Plan, int]], budget: int) -> int:
    """The room to try next: a secant through the last two attempts, else a proportional step."""
    target = budget * 0.97
    last, room = attempts[-1][0], attempts[-1][2]
    proportional = int(room * min(target / max(last.tokens, 1), 1.6))
    if len(attempts) < 2:
        return proportional
    before, room_before = attempts[-2][0], attempts[-2][2]
    if room == room_before or last.tokens == before.tokens:
        return proportional
    slope = (last.tokens - before.tokens) / (room - room_before)
    if slope <= 0:
        return proportional
    secant = int(room + (target - last.tokens) / slope)
    return min(max(secant, room // 4), room * 4)


def _best(results: list[CondensedTrace]) -> CondensedTrace:
    """The fullest rendering within budget, else the smallest."""
    fitting = [result for result in results if result.tokens <= result.budget]
    if fitting:
        return max(fitting, key=lambda result: result.tokens)
    return min(results, key=lambda result: result.tokens)


def _settled(result: CondensedTrace, plan: _Plan) -> bool:
    if result.tokens > result.budget:
        return plan.minimal
    return not result.elisions or result.tokens >= 0.9 * result.budget


def _flagged(result: CondensedTrace, prepared: _Prepared) -> CondensedTrace:
    note = (
        f"the {len(prepared.must)} runs that must stay (root, runs with findings, system "
        f"prompts, final output) need {result.tokens:,} tokens with everything but their "
        f"evidence shortened; the budget is {result.budget:,}"
    )
    return result.model_copy(update={"over_budget": True, "note": note})


# --- preparation: must-keep runs and fill priority ------------------------------------------


def _prepare(trace: Trace, findings: Sequence[Finding], keep: tuple[str, ...]) -> _Prepared:
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
    return _Prepared(
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


# --- pieces: a run's texts ------------------------------------------------------------------


def _run_pieces(run: Run, findings: list[Finding]) -> tuple[_Piece, ...]:
    pieces = [
        piece
        for piece in (*_error_pieces(run), *_input_pieces(run), *_output_pieces(run))
        if piece.text
    ]
    quotes = [found.evidence for found in findings if found.evidence]
    protected = [_protect(piece, quotes) for piece in pieces]
    missing = [quote for quote in dict.fromkeys(quotes) if not _quoted(quote, pieces)]
    extra = [
        _Piece(label="evidence", noun="evidence", text=q, spans=((0, len(q)),)) for q in missing
    ]
    return (*protected, *extra)


def _error_pieces(run: Run) -> list[_Piece]:
    return [_Piece(label="error", noun="error", text=run.error)] if run.error else []


def _input_pieces(run: Run) -> list[_Piece]:
    if run.input_messages:
        return _message_pieces("input", run.input_messages)
    if run.tool_args is not None:
        return [_Piece(label="args", noun="tool arguments", text=run.tool_args)]
    return _field_pieces("inputs", run.inputs)


def _output_pieces(run: Run) -> list[_Piece]:
    if run.output_messages:
        return _message_pieces("output", run.output_messages)
    if run.tool_result is not None:
        return [_Piece(label="result", noun="tool result", text=run.tool_result)]
    return _field_pieces("outputs", run.outputs or {})


def _message_pieces(side: str, messages: tuple[Message, ...]) -> list[_Piece]:
    return [
        _Piece(
            label=f"{side}[{index}] {message.role}"
            + (f" ({message.name})" if message.name else ""),
            noun="system prompt" if message.role == "system" else f"{message.role} message",
            text="\n".join(
                [message.content] * bool(message.content)
                + [f"→ {call.name}({call.arguments})" for call in message.tool_calls]
            ),
        )
        for index, message in enumerate(messages)
    ]


def _field_pieces(side: str, values: dict[str, Any]) -> list[_Piece]:
    return [
        _Piece(label=f"{side}.{name}", noun=f"{side} field", text=_field_text(value))
        for name, value in values.items()
    ]


def _field_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, default=str)


def _quoted(quote: str, pieces: list[_Piece]) -> bool:
    return any(quote in piece.text for piece in pieces)


def _protect(piece: _Piece, quotes: list[str]) -> _Piece:
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        start = piece.text.find(quote)
        for _ in range(_QUOTES_PER_PIECE):
            if start < 0:
                break
            end = start + len(quote)
            spans.append((max(0, start - _WINDOW), min(len(piece.text), end + _WINDOW)))
            start = piece.text.find(quote, end)
    if not spans:
        return piece
    return _Piece(label=piece.label, noun=piece.noun, text=piece.text, spans=_merge(spans))


def _merge(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


# --- selection: which runs, how much of each ------------------------------------------------


def _select(prepared: _Prepared, room: int) -> _Plan:
    plan = _Plan(caps=dict.fromkeys(prepared.must, ()))
    plan.headers.update(_new_ancestors(prepared, plan, prepared.must))
    unique = _unique_pieces(prepared)
    fixed = sum(p.fixed for _, p in unique) + _must_overhead(prepared, plan, len(unique))
    flexible: list[list[int]] = [[] for _ in _TIER_FLOORS]
    for tier, piece in unique:
        flexible[tier].append(len(piece.text) - piece.fixed)
    caps = _tier_caps(flexible, room - fixed)
    plan.minimal = all(cap == 0 for cap in caps)
    plan.caps = {
        run_id: tuple(caps[prepared.tier(run_id, piece)] for piece in prepared.of(run_id))
        for run_id in prepared.must
    }
    plan.paid.update(key for _, piece in unique if (key := piece.key) is not None)
    plan.chars = fixed + sum(_kept(piece, caps[tier]) - piece.fixed for tier, piece in unique)
    if all(cap is None for cap in caps):
        _fill(prepared, plan, room)
    return plan


def _must_overhead(prepared: _Prepared, plan: _Plan, unique: int) -> int:
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
        + _GAP_COST * len(prepared.must)
        + sum(label for label, _ in labels)
        + sum(references)
    )


def _unique_pieces(prepared: _Prepared) -> list[tuple[int, _Piece]]:
    """Must-keep pieces, a repeated text once, at the most important tier it occurs in."""
    by_key: dict[str, tuple[int, _Piece]] = {}
    unique: list[tuple[int, _Piece]] = []
    for run_id in prepared.must:
        for piece in prepared.of(run_id):
            tier, key = prepared.tier(run_id, piece), piece.key
            if key is None:
                unique.append((tier, piece))
            elif key not in by_key or tier < by_key[key][0]:
                by_key[key] = (tier, piece)
    return unique + list(by_key.values())


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


def _kept(piece: _Piece, cap: int | None) -> int:
    """Characters the piece takes with this cap, its elision markers included."""
    size = len(piece.text)
    if cap is None or size < piece.fixed + cap + _MIN_GAP:
        return size
    return min(size, piece.fixed + cap + _MARKER_COST * (len(piece.spans) + 1))


def _new_ancestors(prepared: _Prepared, plan: _Plan, run_ids: Iterable[str]) -> list[str]:
    found: dict[str, None] = {}
    for run_id in run_ids:
        for ancestor in prepared.trace.ancestors(run_id):
            if ancestor.id in plan.caps or ancestor.id in plan.headers or ancestor.id in found:
                break
            found[ancestor.id] = None
    return list(found)


def _fill(prepared: _Prepared, plan: _Plan, room: int) -> None:
    cap = min(max((room - plan.chars) // 12, _FILL_CAP[0]), _FILL_CAP[1])
    misses = 0
    for run_id in prepared.order:
        left = room - plan.chars
        if left < _MIN_RUN_COST or misses > _MAX_MISSES:
            return
        new = _new_ancestors(prepared, plan, [run_id])
        ancestors = sum(prepared.header_cost(ancestor) for ancestor in new)
        whole = _fill_cost(prepared, plan, run_id, None) + ancestors
        chosen: tuple[int | None, int] = (None, whole)
        if whole > left // _WHOLE_SHARE:
            chosen = (cap, _fill_cost(prepared, plan, run_id, cap) + ancestors)
        if chosen[1] > left:
            misses += 1
            continue
        _add(prepared, plan, run_id, chosen)


def _add(prepared: _Prepared, plan: _Plan, run_id: str, chosen: tuple[int | None, int]) -> None:
    plan.headers.update(_new_ancestors(prepared, plan, [run_id]))
    plan.headers.discard(run_id)
    plan.caps[run_id] = (chosen[0],) * len(prepared.of(run_id))
    plan.paid.update(key for piece in prepared.of(run_id) if (key := piece.key) is not None)
    plan.chars += chosen[1]


def _fill_cost(prepared: _Prepared, plan: _Plan, run_id: str, cap: int | None) -> int:
    cost = _GAP_COST + (0 if run_id in plan.headers else prepared.header_cost(run_id))
    for piece in prepared.of(run_id):
        paid = piece.key is not None and piece.key in plan.paid
        cost += prepared.label_cost(run_id, piece)
        cost += prepared.reference_cost(run_id, piece) if paid else _kept(piece, cap)
    return cost


# --- rendering ------------------------------------------------------------------------------


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


def _render(prepared: _Prepared, plan: _Plan, budget: int, model: str | None) -> CondensedTrace:
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
        tokens=count_tokens(text, model),
        budget=budget,
    )


def _preamble(trace: Trace) -> str:
    return (
        f"Trace {trace.id} ({trace.format}, {len(trace.runs):,} runs). Runs in execution order, "
        "indented by depth; every omission is marked [… …]."
    )


def _shared_texts(prepared: _Prepared, plan: _Plan) -> dict[str, _Shared]:
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
            wider = None if first.cap is None or cap is None else max(first.cap, cap)
            first.cap = wider
            first.spans = _merge((*first.spans, *piece.spans))
    return shared


def _flush_gap(prepared: _Prepared, gap: list[Run], out: _Output) -> None:
    if not gap:
        return
    kinds = Counter(str(run.kind) for run in gap)
    summary = ", ".join(f"{kind}×{count}" for kind, count in kinds.most_common())
    noun = "run" if len(gap) == 1 else "runs"
    marker = f"[… {len(gap):,} {noun} elided: {summary} …]"
    out.lines.append("  " * min(prepared.trace.depth(gap[0].id), _MAX_INDENT) + marker)
    out.elisions.append(Elision(marker=marker, run_ids=tuple(run.id for run in gap)))


def _header(prepared: _Prepared, run: Run) -> str:
    parts = [f"▸ {run.kind} {run.name or '(unnamed)'} [run {run.id}]"]
    if run.model:
        parts.append(f"model={run.model}")
    if run.finish_reason:
        parts.append(f"finish={run.finish_reason}")
    if run.failed:
        parts.append("status=error")
    kinds = dict.fromkeys(found.kind for found in prepared.findings.get(run.id, []))
    if kinds:
        parts.append("findings=" + ",".join(kinds))
    return " ".join(parts)


def _render_run(
    prepared: _Prepared, plan: _Plan, run: Run, shared: dict[str, _Shared], out: _Output
) -> None:
    out.kept.append(run.id)
    indent = "  " * min(prepared.trace.depth(run.id), _MAX_INDENT)
    header = indent + _header(prepared, run)
    pieces = prepared.of(run.id)
    if run.id not in plan.caps:
        size = sum(len(piece.text) for piece in pieces)
        if not size:
            out.lines.append(header)
            out.verbatim.append(run.id)
            return
        marker = f"[… content elided: {size:,} chars …]"
        out.lines.append(f"{header} {marker}")
        out.elisions.append(Elision(marker=marker, run_id=run.id, field="content", chars=size))
        return
    out.lines.append(header)
    whole, group = True, _Group()
    for piece, cap in zip(pieces, plan.caps[run.id], strict=True):
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


@dataclass(kw_only=True)
class _Group:
    """Consecutive pieces shown as one line: all elided, or all as in the same other run."""

    key: str = ""
    """``elided``, or the id of the run that shows them; empty for no group."""
    pieces: list[_Piece] = field(default_factory=list)


def _group_key(run_id: str, piece: _Piece, cap: int | None, shared: dict[str, _Shared]) -> str:
    first = shared.get(piece.key) if piece.key is not None else None
    spans = piece.spans
    if first is not None:
        if (first.run_id, first.label) != (run_id, piece.label):
            return "ref:" + first.run_id
        cap, spans = first.cap, first.spans
    if cap != 0 or spans or len(piece.text) < _MIN_GAP:
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
    names = pieces[0].label if len(pieces) == 1 else f"{pieces[0].label} … {pieces[-1].label}"
    where = f"{indent}  [run {run_id}]"
    if group.key.startswith("ref:"):
        owner = group.key[4:]
        what = pieces[0].noun if len(pieces) == 1 else f"{len(pieces)} texts"
        out.lines.append(f"{where} {names}: [{what} as in run {owner}]")
        return not any(shared[piece.text].cut for piece in pieces)
    chars = sum(len(piece.text) for piece in pieces)
    noun = "field" if len(pieces) == 1 else "fields"
    marker = f"[… {len(pieces)} {noun} elided ({names}): {chars:,} chars …]"
    out.lines.append(f"{where} {marker}")
    out.elisions.append(Elision(marker=marker, run_id=run_id, field=names, chars=chars))
    return False


def _render_piece(
    run_id: str,
    indent: str,
    piece: _Piece,
    cap: int | None,
    shared: dict[str, _Shared],
    out: _Output,
) -> bool:
    """Append the piece (or a reference to its first showing); True when nothing of it is cut."""
    label = f"{indent}  [run {run_id}] {piece.label}:"
    first = shared.get(piece.key) if piece.key is not None else None
    if first is not None:
        cap, spans = first.cap, first.spans
    else:
        spans = piece.spans
    text, gaps = _cut(piece.text, cap, spans)
    for marker, chars in gaps:
        out.elisions.append(Elision(marker=marker, run_id=run_id, field=piece.label, chars=chars))
    if first is not None:
        first.cut = bool(gaps)
    out.lines.append(label)
    out.lines.append(text)
    return not gaps


def _cut(
    text: str, cap: int | None, spans: tuple[tuple[int, int], ...]
) -> tuple[str, list[tuple[str, int]]]:
    """Head, tail and protected spans of ``text``; the gaps become explicit markers."""
    if cap is None or len(text) < cap + sum(end - start for start, end in spans) + _MIN_GAP:
        return text, []
    head = cap // 2
    keep = _merge(((0, head), (len(text) - (cap - head), len(text)), *spans))
    parts: list[str] = []
    gaps: list[tuple[str, int]] = []
    cursor = 0
    for start, end in keep:
        if start - cursor >= _MIN_GAP:
            marker = f"[… {start - cursor:,} chars elided …]"
            parts.append(marker)
            gaps.append((marker, start - cursor))
        else:
            parts.append(text[cursor:start])
        parts.append(text[start:end])
        cursor = end
    return "".join(parts), gaps
