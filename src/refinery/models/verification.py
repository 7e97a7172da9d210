"""Verification results: how often each fix made the replayed failing call behave as expected.

A proposed fix is a hypothesis until something checks it. ``refinery verify`` replays the recorded
LLM call where the run went wrong, as recorded (the baseline) and with each fix's edits applied,
judges every answer against the expected behaviour, and reports pass rates with a 95% interval.
These frozen models are the ``verification`` field of ``--json`` and of a saved analysis.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class FixStatus(StrEnum):
    """How a fix was verified."""

    REPLAYED = "replayed"
    """Its edits were applied to the recorded call, which was sent K times."""
    EVAL_ONLY = "eval_only"
    """It only adds eval cases: checked against the recorded answer, no replay."""
    UNMAPPED = "unmapped"
    """Its edits cannot be applied to the recorded call (the reason says why)."""
    NOT_RUN = "not_run"
    """Not verified: no key for the agent's model, or the cost cap was reached."""


class Judgement(BaseModel):
    """One answer judged against the expected behaviour."""

    model_config = _FROZEN

    passed: bool | None
    """True or False; None when the call or the judge failed (see ``error``)."""
    reason: str = ""
    """The judge's one-line reason, or the failed deterministic check."""
    quote: str = ""
    """A short quote from the answer supporting the verdict."""
    answer: str = ""
    """The replayed answer (text and tool calls), clipped."""
    error: str | None = None
    """Why this run has no verdict."""


class PassRate(BaseModel):
    """K replays of one variant of the call and how many passed, with a 95% Wilson interval."""

    model_config = _FROZEN

    passed: int
    """Runs judged as passing."""
    runs: int
    """Runs with a verdict (failed calls are not counted)."""
    low: float
    """Lower bound of the 95% Wilson interval of the pass rate."""
    high: float
    """Upper bound of the 95% Wilson interval of the pass rate."""
    judgements: tuple[Judgement, ...] = ()
    """Each run's verdict, in order."""


class Regression(BaseModel):
    """An existing eval case replayed with the original and with the patched prompt."""

    model_config = _FROZEN

    case: str
    """The case's input, clipped."""
    expected: str
    """The case's expectation."""
    before: bool | None
    """Passed with the original prompt (None: no verdict)."""
    after: bool | None
    """Passed with the fix applied (None: no verdict)."""


class EvalCommandRun(BaseModel):
    """The user's own eval command, run once in a temporary git worktree."""

    model_config = _FROZEN

    exit_code: int | None
    """Its exit code; None when it timed out or could not start."""
    passed: int | None = None
    """Passing tests, when the output says."""
    failed: int | None = None
    """Failing tests, when the output says."""
    seconds: float = 0.0
    """How long it ran."""
    error: str | None = None
    """Timeout or start failure, one line."""


class FixVerification(BaseModel):
    """What verification found for one fix."""

    model_config = _FROZEN

    rank: int
    """The fix's rank as the analysis proposed it."""
    title: str
    """The fix's title."""
    status: FixStatus
    """How it was verified."""
    verdict: str
    """One plain sentence: what the replays showed."""
    mapping: tuple[str, ...] = ()
    """How its edits were mapped onto the recorded call, or why they could not be."""
    pass_rate: PassRate | None = None
    """Replays with the fix applied (None unless replayed)."""
    effect: float | None = None
    """Pass rate minus the baseline's; None when not replayed."""
    case_checks: tuple[str, ...] = ()
    """Eval cases the fix adds and what checking them found."""
    regressions: tuple[Regression, ...] = ()
    """Existing eval cases that passed before the fix and fail after it."""
    cases_checked: int = 0
    """How many existing eval cases were replayed for the regression guard."""
    eval_command: EvalCommandRun | None = None
    """The user's eval command with the fix applied."""
    cost_usd: float | None = None
    """What its calls cost; None when the price of the model is unknown."""
    seconds: float = 0.0
    """Wall time of its calls."""


class CallRef(BaseModel):
    """The recorded LLM call that was replayed."""

    model_config = _FROZEN

    run_id: str
    """Its run id in the trace."""
    name: str
    """Its run name."""
    why: str
    """Why this call: the divergence step, or the last LLM call before the final answer."""


class VerificationReport(BaseModel):
    """Every fix checked against the failing call, the baseline beside them, re-ranked."""

    model_config = _FROZEN

    expected: str
    """The expected behaviour the answers were judged against."""
    call: CallRef | None
    """The call replayed; None when there was none to replay."""
    agent: str | None
    """``provider model`` of the agent's model the call was sent to; None when not reachable."""
    judge: str | None
    """``provider model`` of the judge; None when no judge was available."""
    runs: int
    """Replays per variant (K)."""
    baseline: PassRate | None
    """The recorded call sent as it was."""
    fixes: tuple[FixVerification, ...]
    """One per fix verified, in the analysis' order."""
    ranking: tuple[int, ...]
    """Fix ranks, best verified effect first."""
    eval_command: EvalCommandRun | None = None
    """The user's eval command on the current commit."""
    calls: int = 0
    """LLM calls made (replays and judge)."""
    cost_usd: float | None = None
    """What all calls cost; None when a price is unknown."""
    seconds: float = 0.0
    """Wall time of verification."""
    notes: tuple[str, ...] = ()
    """Things the reader should know (missing key, unrecorded tool definitions, cost cap)."""

    def best(self) -> int | None:
        """The rank of the fix with the best verified positive effect, if any."""
        for rank in self.ranking:
            fix = next(f for f in self.fixes if f.rank == rank)
            if fix.effect is not None and fix.effect > 0:
                return rank
        return None
