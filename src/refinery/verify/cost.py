"""The cost of a verification, estimated before any call is made and tallied as calls return.

Input tokens are counted from the messages that will be sent (exactly for OpenAI families, an
estimate otherwise); an answer is assumed to be about twice as long as the recorded one (at least
200 tokens, at most the call's max tokens). Prices come from the same table as the analysis'
usage report; a model without a price makes the estimate unknown, and the report says which.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from ..analysis.token_count import TokenCounter
from ..llm.catalog import cost_usd
from .call import RecordedCall

JUDGE_PROMPT_TOKENS = 450
"""The judge's instructions and schema."""
JUDGE_ANSWER_TOKENS = 150


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """Calls and cost expected before anything is sent."""

    replays: int
    judge_calls: int
    cost_usd: float | None
    unpriced: tuple[str, ...] = ()
    """Models without a known price."""

    @property
    def calls(self) -> int:
        """All calls."""
        return self.replays + self.judge_calls


def estimate(
    calls: Sequence[RecordedCall], agent_model: str, judge_model: str | None, judged: int
) -> Estimate:
    """Estimate ``calls`` replayed on ``agent_model`` and ``judged`` verdicts by ``judge_model``."""
    counter = TokenCounter(model=agent_model)
    total: float | None = 0.0
    unpriced: set[str] = set()
    for call in calls:
        sent = counter.messages(call.messages) + counter.count(
            json.dumps([t.name for t in call.tools])
        )
        answer = min(max(2 * counter.count(call.answer), 200), call.max_tokens or 10**6)
        total = _add(
            total,
            cost_usd(call.model or agent_model, sent, answer),
            call.model or agent_model,
            unpriced,
        )
    if judge_model and judged:
        per_judge = JUDGE_PROMPT_TOKENS + (
            sum(counter.messages(c.messages[-8:]) for c in calls) // max(len(calls), 1)
        )
        total = _add(
            total,
            cost_usd(judge_model, per_judge * judged, JUDGE_ANSWER_TOKENS * judged),
            judge_model,
            unpriced,
        )
    return Estimate(
        replays=len(calls), judge_calls=judged, cost_usd=None if unpriced else total,
        unpriced=tuple(sorted(unpriced)),
    )  # fmt: skip


def _add(total: float | None, cost: float | None, model: str, unpriced: set[str]) -> float | None:
    if cost is None:
        unpriced.add(model)
        return total
    return (total or 0.0) + cost


class Tally:
    """Thread-safe running cost of the calls made, against an optional hard cap."""

    def __init__(self, cap: float | None) -> None:
        self.cap = cap
        self.spent = 0.0
        self.unknown = False
        self.calls = 0
        self._lock = threading.Lock()

    def add(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """Record one call; its cost, or None when the price is unknown."""
        cost = cost_usd(model, input_tokens, output_tokens)
        with self._lock:
            self.calls += 1
            if cost is None:
                self.unknown = True
            else:
                self.spent += cost
        return cost

    def allows(self, next_cost: float | None) -> bool:
        """False once the cap would be passed by a call costing ``next_cost``."""
        with self._lock:
            return self.cap is None or self.spent + (next_cost or 0.0) <= self.cap
