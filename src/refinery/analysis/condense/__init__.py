"""Condensation: a trace cut to a token budget for an LLM to read, without losing evidence.

A trace of thousands of runs does not fit a prompt, and a prompt that silently drops the run where
things went wrong produces a confident wrong diagnosis. So condensation works in two tiers: the
runs that must stay (the root, every run with a finding, the first run of each distinct system
prompt, the final LLM output) are kept, and only their non-evidence text is shortened if even they
do not fit; the rest of the budget is filled by priority (runs near findings, failed runs, LLM
runs, tool runs, others), with the ancestors of every kept run shown as one-line headers.

The package follows the steps: ``prepare`` (must-keep runs, fill order), ``pieces`` (a run's
texts and their evidence spans), ``select`` and ``fill`` (what fits), ``render`` (the text, every
omission marked). Sizes are estimated in characters while selecting (cheap on a 100,000-run
trace); the rendered text is counted exactly and the selection redone with a corrected ratio when
the estimate was off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ...errors import InputError
from ...traces.model import Trace
from ..findings import Finding
from ..tokens import count_tokens
from .plan import Plan
from .prepare import Prepared, prepare
from .render import render
from .result import CondensedTrace, Elision
from .select import must_keep, select

__all__ = ["CondensedTrace", "Elision", "condense"]

_CHARS_PER_TOKEN = 3.6
"""First guess of characters per token; corrected from the exact count of each rendering."""
_ATTEMPTS = 5
_TARGET = 0.99
"""Share of the budget the search aims at."""
_FULL = 0.98
"""A rendering with a finding run cut is settled only when it uses this share of the budget."""

_Attempt = tuple[CondensedTrace, Plan, int]


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
    prepared = prepare(trace, findings, tuple(keep))
    attempts = _search(prepared, budget, lambda text: count_tokens(text, model))
    results = [result for result, _, _ in attempts]
    ranked = _ranked(prepared, results)
    if ranked:
        return ranked[0]
    return _flagged(min(results, key=lambda result: result.tokens), prepared)


def _search(prepared: Prepared, budget: int, counter: Callable[[str], int]) -> list[_Attempt]:
    """Renderings at rooms chosen to fill the budget; a plan seen before is not rendered again."""
    must = must_keep(prepared)
    room = int(budget * _CHARS_PER_TOKEN)
    attempts: list[_Attempt] = []
    rendered: dict[object, CondensedTrace] = {}
    for _ in range(_ATTEMPTS):
        plan = select(prepared, must, room)
        signature = plan.signature()
        result = rendered.get(signature) or render(prepared, plan, budget, counter)
        rendered[signature] = result
        attempts.append((result, plan, room))
        if _settled(prepared, result, plan):
            break
        room = _next_room(attempts, budget)
    if all(result.tokens > budget and not plan.minimal for result, plan, _ in attempts):
        plan = select(prepared, must, 0)  # the estimate did not converge: the smallest rendering
        attempts.append((render(prepared, plan, budget, counter), plan, 0))
    return attempts


def _next_room(attempts: list[_Attempt], budget: int) -> int:
    """The room to try next: a secant through the last two attempts, else a proportional step."""
    target = budget * _TARGET
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


def _ranked(prepared: Prepared, results: list[CondensedTrace]) -> list[CondensedTrace]:
    """Renderings within budget (by estimate): most finding runs whole, then fullest, first."""
    fitting = [result for result in results if result.tokens <= result.budget]
    return sorted(
        fitting, key=lambda result: (_whole_primary(prepared, result), result.tokens), reverse=True
    )


def _settled(prepared: Prepared, result: CondensedTrace, plan: Plan) -> bool:
    """True when another attempt is not worth it (a cut finding run wants the budget near full)."""
    if result.tokens > result.budget:
        return plan.minimal
    if not result.elisions:
        return True
    whole = _whole_primary(prepared, result) == len(prepared.primary)
    return result.tokens >= (0.9 if whole else _FULL) * result.budget


def _whole_primary(prepared: Prepared, result: CondensedTrace) -> int:
    verbatim = set(result.verbatim_run_ids)
    return sum(run_id in verbatim for run_id in prepared.primary)


def _flagged(result: CondensedTrace, prepared: Prepared) -> CondensedTrace:
    note = (
        f"the {len(prepared.must)} runs that must stay (root, runs with findings, system "
        f"prompts, final output) need {result.tokens:,} tokens with everything but their "
        f"evidence shortened; the budget is {result.budget:,}"
    )
    return result.model_copy(update={"over_budget": True, "note": note})
