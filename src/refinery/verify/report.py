"""From task outcomes to the report: pass rates, regressions, plain verdicts, and a new ranking.

Each fix's pass rate sits beside the baseline's with a 95% Wilson interval; its effect is the
difference of the two rates. Fixes are re-ranked by verified effect (replayed fixes with a larger
effect first, fewer regressions breaking ties, then the analysis' own rank); fixes that could not
be replayed keep their order after them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..models.verification import (
    CallRef,
    EvalCommandRun,
    FixStatus,
    FixVerification,
    Judgement,
    PassRate,
    Regression,
    VerificationReport,
)
from ..redaction import redact_texts
from .cases import Check
from .mapping import Variant
from .plan import VerifyPlan
from .stats import wilson


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """One task's judgement, cost and timing."""

    group: str
    judgement: Judgement
    cost: float | None
    started: float
    ended: float


def build_report(
    plan: VerifyPlan,
    outcomes: list[Outcome],
    commands: dict[str, EvalCommandRun],
    *,
    calls: int,
    cost: float | None,
    seconds: float,
) -> VerificationReport:
    """The verification report of ``plan`` from its outcomes."""
    by_group: dict[str, list[Outcome]] = {}
    for outcome in shown(outcomes):
        by_group.setdefault(outcome.group, []).append(outcome)
    baseline = pass_rate(by_group.get("baseline", [])) if "baseline" in by_group else None
    fixes = tuple(_fix(plan, v, by_group, baseline, commands) for v in plan.variants)
    fixes += tuple(
        _not_mapped(plan, h.rank, h.title)
        for h in plan.hypotheses
        if h.rank not in {f.rank for f in fixes}
    )
    call = plan.call
    return VerificationReport(
        expected=plan.expected,
        call=CallRef(run_id=call.run_id, name=call.name, why=call.why) if call else None,
        agent=plan.target.label if plan.target else None,
        judge=plan.judge.label if plan.judge else None,
        runs=plan.options.runs,
        baseline=baseline,
        fixes=fixes,
        ranking=rerank(fixes),
        eval_command=commands.get("before"),
        calls=calls,
        cost_usd=cost,
        seconds=seconds,
        notes=(*plan.problems, *plan.notes),
    )


def shown(outcomes: list[Outcome]) -> list[Outcome]:
    """Outcomes as shown and saved: answers, reasons and quotes with sensitive values replaced."""
    texts = [
        t for o in outcomes for t in (o.judgement.reason, o.judgement.quote, o.judgement.answer)
    ]
    clean = iter(redact_texts(texts))
    return [
        replace(o, judgement=o.judgement.model_copy(
            update={"reason": next(clean), "quote": next(clean), "answer": next(clean)}))
        for o in outcomes
    ]  # fmt: skip


def pass_rate(outcomes: list[Outcome]) -> PassRate:
    """Passing runs over runs with a verdict, with the 95% Wilson interval."""
    judged = [o.judgement for o in outcomes]
    decided = [j for j in judged if j.passed is not None]
    passed = sum(1 for j in decided if j.passed)
    low, high = wilson(passed, len(decided))
    return PassRate(passed=passed, runs=len(decided), low=low, high=high, judgements=tuple(judged))


def rerank(fixes: tuple[FixVerification, ...]) -> tuple[int, ...]:
    """Fix ranks, best verified effect first."""
    ordered = sorted(
        fixes,
        key=lambda f: (f.effect is None, -(f.effect or 0.0), len(f.regressions), f.rank),
    )
    return tuple(f.rank for f in ordered)


def _fix(
    plan: VerifyPlan,
    variant: Variant,
    by_group: dict[str, list[Outcome]],
    baseline: PassRate | None,
    commands: dict[str, EvalCommandRun],
) -> FixVerification:
    key = f"fix:{variant.rank}"
    common = {
        "rank": variant.rank, "title": variant.title, "mapping": variant.notes,
        "eval_command": commands.get(key),
    }  # fmt: skip
    if variant.problem is not None:
        return FixVerification(
            status=FixStatus.UNMAPPED, verdict=f"not verified: {variant.problem}", **common
        )
    if variant.eval_only:
        return _eval_only(variant, by_group, common)
    if variant.call is None:
        return FixVerification(
            status=FixStatus.UNMAPPED,
            verdict="not verified: its edits add no eval case with an input and an expectation",
            **common,
        )
    if key not in by_group or baseline is None:
        return FixVerification(status=FixStatus.NOT_RUN, verdict=_not_replayed(plan), **common)
    own = by_group[key]
    rate = pass_rate(own)
    regressions, checked = _regressions(plan, variant.rank, by_group)
    effect = _effect(rate, baseline)
    return FixVerification(
        status=FixStatus.REPLAYED,
        verdict=verdict(rate, baseline, len(regressions), prompt=_changes_prompt(variant)),
        pass_rate=rate, effect=effect, regressions=regressions, cases_checked=checked,
        case_checks=tuple(f"its eval case is checked on every replay: {len(c.checks)} check(s)"
                          for c in variant.cases if c.checks),
        cost_usd=_cost(own + _case_outcomes(by_group, key)), seconds=_span(own),
        **common,
    )  # fmt: skip


def _effect(rate: PassRate, baseline: PassRate) -> float | None:
    if not rate.runs or not baseline.runs:
        return None
    return round(rate.passed / rate.runs - baseline.passed / baseline.runs, 4)


def verdict(rate: PassRate, baseline: PassRate, regressions: int, *, prompt: bool) -> str:
    """One plain sentence comparing a fix's replays with the baseline's."""
    original = "the original prompt" if prompt else "the original settings"
    k, m, b, n = rate.passed, rate.runs, baseline.passed, baseline.runs
    if not m or not n:
        errors = {j.error for j in rate.judgements if j.error} or {"no verdict"}
        return f"could not be measured: {sorted(errors)[0]}"
    if k == m and b == 0:
        text = f"fixes it in {k} of {m} replays; {original} failed {n} of {n}"
    elif k / m > b / n:
        text = f"improves it: passes in {k} of {m} replays, against {b} of {n} with {original}"
    elif k / m == b / n:
        text = (
            f"no measurable effect: passes in {k} of {m} replays, as {original} did in {b} of {n}"
        )
    else:
        text = f"makes it worse: passes in {k} of {m} replays, against {b} of {n} with {original}"
    if regressions:
        text += f"; breaks {regressions} existing eval case(s) that passed before"
    return text


def _changes_prompt(variant: Variant) -> bool:
    return any("message" in note or "system prompt" in note for note in variant.notes)


def _regressions(
    plan: VerifyPlan, rank: int, by_group: dict[str, list[Outcome]]
) -> tuple[tuple[Regression, ...], int]:
    found: list[Regression] = []
    for index, case in enumerate(plan.cases):
        before = _passed(by_group.get(f"case:{index}:baseline"))
        after = _passed(by_group.get(f"case:{index}:fix:{rank}"))
        if before is True and after is False:
            found.append(
                Regression(
                    case=_clip(case.label), expected=case.expected, before=before, after=after
                )
            )
    return tuple(found), len(plan.cases)


def _passed(outcomes: list[Outcome] | None) -> bool | None:
    return outcomes[0].judgement.passed if outcomes else None


def _case_outcomes(by_group: dict[str, list[Outcome]], key: str) -> list[Outcome]:
    return [o for group, items in by_group.items() if group.endswith(f":{key}") for o in items]


def _eval_only(
    variant: Variant, by_group: dict[str, list[Outcome]], common: dict[str, Any]
) -> FixVerification:
    own = by_group.get(f"eval:{variant.rank}", [])
    passing = [
        o.judgement.answer for group, items in by_group.items()
        if group == "baseline" or group.startswith("fix:") for o in items if o.judgement.passed
    ]  # fmt: skip
    lines: list[str] = []
    caught = bool(own)
    for case, outcome in zip(variant.cases, own, strict=False):
        failed = outcome.judgement.passed is False
        caught = caught and failed
        state = (
            "the recorded answer fails it" if failed
            else "the recorded answer passes it" if outcome.judgement.passed
            else f"no verdict ({outcome.judgement.error})"
        )  # fmt: skip
        why = f" ({outcome.judgement.reason})" if outcome.judgement.reason else ""
        lines.append(f"case {_clip(case.label)!r}: {state}{why}; "
                     f"{_correct_answers(case.checks, case.expected, passing)}")  # fmt: skip
    unjudged = next((o.judgement.error for o in own if o.judgement.passed is None), None)
    if not own:
        unjudged = "the trace records no answer to check the case against"
    said = (
        f"could not be checked: {unjudged}" if unjudged
        else "catches the failure: the recorded answer fails the case it adds" if caught
        else "does not catch the failure: the recorded answer does not fail the case it adds"
    )  # fmt: skip
    return FixVerification(
        status=FixStatus.EVAL_ONLY, verdict=said, case_checks=tuple(lines),
        cost_usd=_cost(own), seconds=_span(own), **common,
    )  # fmt: skip


def _correct_answers(checks: tuple[Check, ...], expected: str, passing: list[str]) -> str:
    if not checks:
        return f"its check is the expectation {expected!r}, judged on each answer"
    if not passing:
        return "no replayed answer passed, so no correct answer could test its checks"
    ok = sum(1 for answer in passing if not any(c.failure(answer) for c in checks))
    return f"its checks pass on {ok} of {len(passing)} replayed answers judged correct"


def _not_replayed(plan: VerifyPlan) -> str:
    reason = plan.problems[0].split(": ")[0] if plan.problems else "nothing was replayed"
    return f"not replayed: {reason} (see the notes)"


def _not_mapped(plan: VerifyPlan, rank: int, title: str) -> FixVerification:
    return FixVerification(
        rank=rank, title=title, status=FixStatus.NOT_RUN, verdict=_not_replayed(plan)
    )


def _cost(outcomes: list[Outcome]) -> float | None:
    costs = [o.cost for o in outcomes]
    return None if any(c is None for c in costs) else round(sum(c or 0.0 for c in costs), 6)


def _span(outcomes: list[Outcome]) -> float:
    if not outcomes:
        return 0.0
    return round(max(o.ended for o in outcomes) - min(o.started for o in outcomes), 2)


def _clip(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
