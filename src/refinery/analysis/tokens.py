"""Token analysis: where a trace's tokens went and whether its LLM calls fit their context windows.

Counting. A run's tokens come from the usage its source reported when there is any; otherwise they
are counted from its normalised messages (with OpenAI's chat framing) or, failing that, its raw
inputs and outputs, by ``token_count``: exact for OpenAI families, labelled estimates otherwise.
The counting names (``count_tokens``, ``counts_exact``, ``TokenCounter``) are re-exported here.

What the numbers mean. An LLM run's tokens are its prompt plus completion: what the model processed,
so ``total_tokens`` is the sum over LLM runs (it equals the sum of reported usage when every call
reports it). A tool, retriever or other leaf run's tokens are those of its arguments and result:
text that later LLM calls read inside their prompts, so they appear in ``by_kind`` but are not added
to the total (a trace without LLM runs totals its leaf runs instead). Runs with children
(chains, agents) count 0: their inputs and outputs repeat their children's. A ``top`` entry's
``share`` is its fraction of all runs' tokens.

Health, from the most to the least severe; the first that holds labels the trace:

- ``HARD_TRUNCATION``: an LLM call's prompt is ≥ 100% of its model's context window; or the
  call stopped for length (``length``/``max_tokens``) with prompt + completion ≥ 95% of the
  window; or the provider rejected it for context length (its error says so).
- ``SOFT_TRUNCATION``: an LLM call's prompt is ≥ 90% of the window: the next turn or tool result
  overflows, and frameworks start trimming history silently.
- ``CONTEXT_STARVATION``: an LLM call's prompt is < 500 tokens while the tool and retriever runs
  before it returned ≥ 2,000 tokens (more than 20× the prompt): the model was not given what the
  trace had.
- ``ATTENTION_DILUTION``: an LLM call's prompt is ≥ 50% of the window, or the prompt is ≥ 8,000
  tokens and its system prompt is < 2% of it: the instructions are drowned in context.
- ``OK``: none of these.

Windows come from ``--model`` when given, else each call's own model; with an unknown model only
the error and starvation rules can fire, and the notes say so.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..gcpause import paused_gc
from ..knowledge.models import model_info
from ..traces.messages import to_text
from ..traces.model import Run, RunKind, Trace, TraceRef

# The counting names, re-exported (``as``) so code importing them from here keeps working.
from .token_count import TOKENS_PER_MESSAGE as TOKENS_PER_MESSAGE
from .token_count import TOKENS_PER_NAME as TOKENS_PER_NAME
from .token_count import TOKENS_REPLY_PRIMING as TOKENS_REPLY_PRIMING
from .token_count import TokenCounter as TokenCounter
from .token_count import count_tokens as count_tokens
from .token_count import counts_exact as counts_exact

HARD_UTILISATION = 1.0
LENGTH_STOP_UTILISATION = 0.95
SOFT_UTILISATION = 0.90
DILUTION_UTILISATION = 0.50
DILUTION_MIN_PROMPT = 8_000
DILUTION_SYSTEM_SHARE = 0.02
STARVATION_MAX_PROMPT = 500
STARVATION_MIN_EVIDENCE = 2_000
STARVATION_RATIO = 20
_LENGTH_STOPS = frozenset(
    {"length", "max_tokens", "max_output_tokens", "model_length", "token_limit"}
)
_CONTEXT_ERROR = re.compile(
    r"context[ _]length|maximum context|context window|prompt is too long|input is too long|"
    r"too many tokens|input token count.{0,40}exceeds",
    re.IGNORECASE,
)
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class HealthLabel(StrEnum):
    """Context-window health of a trace, most severe first."""

    HARD_TRUNCATION = "HARD_TRUNCATION"
    SOFT_TRUNCATION = "SOFT_TRUNCATION"
    CONTEXT_STARVATION = "CONTEXT_STARVATION"
    ATTENTION_DILUTION = "ATTENTION_DILUTION"
    OK = "OK"


MEANINGS = {
    HealthLabel.HARD_TRUNCATION: "A call did not fit its model's context window: the model never "
    "saw part of its input, or ran out of room for its answer.",
    HealthLabel.SOFT_TRUNCATION: "A call filled 90% or more of the context window: one more turn "
    "or tool result overflows it, and frameworks start dropping history silently.",
    HealthLabel.CONTEXT_STARVATION: "A call was given a tiny prompt although earlier tools "
    "returned much more: the model answered without what the trace had found.",
    HealthLabel.ATTENTION_DILUTION: "A call's instructions are a small part of a long prompt: "
    "models follow them less reliably when they are drowned in context.",
    HealthLabel.OK: "Every call fits its context window comfortably.",
}


class RunShare(BaseModel):
    """One run among the biggest token contributors."""

    model_config = _FROZEN

    run_id: str
    """The run's source id."""
    name: str
    """The run's name."""
    kind: str
    """The run's kind."""
    tokens: int
    """Its tokens (prompt + completion for an LLM call; arguments + result otherwise)."""
    share: float
    """Its fraction of all runs' tokens."""


class LlmCall(BaseModel):
    """The LLM call with the largest prompt, against its model's context window."""

    model_config = _FROZEN

    run_id: str
    """The run's source id."""
    model: str | None
    """The model whose window applies."""
    prompt_tokens: int
    """The call's prompt tokens."""
    completion_tokens: int
    """The call's completion tokens."""
    context_window: int | None
    """The model's context window, when known."""
    utilisation: float | None
    """``prompt_tokens / context_window``, when the window is known."""


class Health(BaseModel):
    """The health label, why it was given, and what it means."""

    model_config = _FROZEN

    label: HealthLabel
    """The most severe label whose threshold a call reached."""
    reason: str
    """The numbers that triggered it."""
    run_id: str | None = None
    """The LLM call it is about."""
    meaning: str
    """What the label means, in plain language."""


class TokenReport(BaseModel):
    """Tokens per kind, the top contributors, the largest call and the trace's health."""

    model_config = _FROZEN

    trace: TraceRef
    """Which trace was analysed."""
    model: str | None
    """The model used for counting non-LLM runs: ``--model`` or the trace's most used model."""
    total_tokens: int
    """Tokens the trace's LLM calls processed (prompt + completion)."""
    prompt_tokens: int
    """Prompt tokens of all LLM calls."""
    completion_tokens: int
    """Completion tokens of all LLM calls."""
    by_kind: dict[str, int]
    """Tokens per run kind (non-LLM kinds: the text those runs produced)."""
    top: tuple[RunShare, ...]
    """The biggest contributors, largest first."""
    largest_llm_call: LlmCall | None
    """The LLM call with the largest prompt."""
    health: Health
    """Context-window health."""
    exact: bool
    """True when every count was reported by the source or made with the model's own tokenizer."""
    notes: tuple[str, ...] = ()
    """How the numbers were obtained and anything else worth knowing."""


@dataclass(frozen=True, kw_only=True)
class RunTokens:
    """A run's prompt and completion tokens, and how they were obtained."""

    run_id: str
    kind: RunKind
    prompt_tokens: int
    completion_tokens: int
    reported: bool
    """True when the source reported them."""
    estimated: bool
    """True when counted with an approximate (non-OpenAI) tokenizer."""

    @property
    def tokens(self) -> int:
        """Prompt plus completion."""
        return self.prompt_tokens + self.completion_tokens


def run_tokens(
    run: Run, *, model: str | None = None, counter: TokenCounter | None = None
) -> RunTokens:
    """A run's tokens: reported usage when it has any, else counted from its content.

    Args:
        run: the run.
        model: the model to count with; the run's own model when None.
        counter: a counter to share a cache across runs (its model wins over ``model``).
    """
    counter = counter or TokenCounter(model=model or run.model)
    usage = run.usage
    if usage and (usage.prompt_tokens is not None or usage.completion_tokens is not None):
        prompt, completion = usage.prompt_tokens or 0, usage.completion_tokens or 0
        return _run_tokens(run, prompt, completion, reported=True, estimated=False)
    if run.kind is RunKind.LLM:
        prompt, completion = _llm_prompt(run, counter), _llm_completion(run, counter)
    elif run.kind is RunKind.TOOL:
        prompt = counter.count(run.tool_args or "")
        completion = counter.count(run.tool_result or to_text(run.outputs))
    else:
        prompt, completion = counter.count(_text(run.inputs)), counter.count(_text(run.outputs))
    return _run_tokens(run, prompt, completion, reported=False, estimated=not counter.exact)


def _run_tokens(
    run: Run, prompt: int, completion: int, *, reported: bool, estimated: bool
) -> RunTokens:
    return RunTokens(
        run_id=run.id,
        kind=run.kind,
        prompt_tokens=prompt,
        completion_tokens=completion,
        reported=reported,
        estimated=estimated,
    )


def _llm_prompt(run: Run, counter: TokenCounter) -> int:
    if not run.input_messages:
        return counter.count(_text(run.inputs))
    tools = run.invocation_params.get("tools")
    schema = counter.count(json.dumps(tools, ensure_ascii=False, default=str)) if tools else 0
    return counter.messages(run.input_messages) + TOKENS_REPLY_PRIMING + schema


def _llm_completion(run: Run, counter: TokenCounter) -> int:
    if run.output_messages:
        return counter.messages(run.output_messages) - TOKENS_PER_MESSAGE * len(run.output_messages)
    return counter.count(_text(run.outputs))


def _text(value: dict[str, Any] | None) -> str:
    return to_text(value) if value else ""


@paused_gc()
def analyse_tokens(trace: Trace, model: str | None = None, *, top: int = 10) -> TokenReport:
    """Tokens per run and kind, the top contributors, the largest call and the health label.

    Args:
        trace: the trace.
        model: analyse every call as this model (its window and tokenizer); each call's own model
            when None.
        top: how many contributors to list.
    """
    tally = _tally(trace, model)
    llm = [t for t in tally.runs if t.kind is RunKind.LLM]
    total = sum(t.tokens for t in llm) if llm else sum(t.tokens for t in tally.runs)
    calls = _calls(trace, tally.runs, model)
    largest = max(calls, key=lambda c: c.tokens.prompt_tokens, default=None)
    return TokenReport(
        trace=trace.ref(),
        model=tally.counter.model,
        total_tokens=total,
        prompt_tokens=sum(t.prompt_tokens for t in llm),
        completion_tokens=sum(t.completion_tokens for t in llm),
        by_kind=_by_kind(tally.runs),
        top=_top(trace, tally.runs, top),
        largest_llm_call=largest.summary() if largest else None,
        health=_health(calls, tally),
        exact=not any(t.estimated for t in tally.runs),
        notes=(*_count_notes(tally), *_call_notes(calls)),
    )


@dataclass(frozen=True, kw_only=True)
class _Tally:
    runs: tuple[RunTokens, ...]
    counter: TokenCounter
    counters: dict[str | None, TokenCounter]

    def counter_for(self, model: str | None) -> TokenCounter:
        return self.counters.get(model) or self.counter


def _tally(trace: Trace, model: str | None) -> _Tally:
    main_model = model or _dominant_model(trace)
    counters: dict[str | None, TokenCounter] = {main_model: TokenCounter(model=main_model)}
    tallied: list[RunTokens] = []
    parents = {run.parent_id for run in trace.runs}
    for run in trace.runs:
        if run.kind is not RunKind.LLM and run.id in parents:
            tallied.append(_run_tokens(run, 0, 0, reported=False, estimated=False))
            continue
        key = (model or run.model or main_model) if run.kind is RunKind.LLM else main_model
        counter = counters.get(key) or counters.setdefault(key, TokenCounter(model=key))
        tallied.append(run_tokens(run, counter=counter))
    return _Tally(runs=tuple(tallied), counter=counters[main_model], counters=counters)


def _dominant_model(trace: Trace) -> str | None:
    models = Counter(run.model for run in trace.runs if run.kind is RunKind.LLM and run.model)
    return models.most_common(1)[0][0] if models else None


def _by_kind(tallied: Iterable[RunTokens]) -> dict[str, int]:
    by_kind: Counter[str] = Counter()
    for item in tallied:
        by_kind[item.kind.value] += item.tokens
    return dict(by_kind.most_common())


def _top(trace: Trace, tallied: tuple[RunTokens, ...], limit: int) -> tuple[RunShare, ...]:
    everything = sum(t.tokens for t in tallied) or 1
    biggest = sorted((t for t in tallied if t.tokens), key=lambda t: -t.tokens)[:limit]
    return tuple(
        RunShare(
            run_id=t.run_id,
            name=_name(trace, t.run_id),
            kind=t.kind.value,
            tokens=t.tokens,
            share=round(t.tokens / everything, 4),
        )
        for t in biggest
    )


def _name(trace: Trace, run_id: str) -> str:
    run = trace.get(run_id)
    return run.name if run else ""


def _count_notes(tally: _Tally) -> list[str]:
    notes: list[str] = []
    counted = sum(1 for t in tally.runs if t.kind is RunKind.LLM and not t.reported)
    if counted:
        notes.append(
            f"{counted} LLM call(s) reported no usage: counted from their messages "
            f"(+{TOKENS_PER_MESSAGE} tokens per message for chat framing)"
        )
    for counter in tally.counters.values():
        if counter.exact:
            continue
        factor = counter.info.estimate_factor
        if counter.info.known:
            notes.append(
                f"counts for {counter.model} ({counter.info.family}) are estimates: "
                f"o200k_base × {factor}"
            )
        else:
            who = f"{counter.model} is not a known model" if counter.model else "no model named"
            notes.append(
                f"{who}: counts are estimates (o200k_base × {factor}); "
                "pass --model for exact counts and the context window"
            )
    return notes


@dataclass(frozen=True, kw_only=True)
class _Call:
    """An LLM call as the health rules see it."""

    run: Run
    tokens: RunTokens
    model: str | None
    window: int | None
    evidence: int
    """Tokens returned by tool and retriever runs before this call."""

    @property
    def utilisation(self) -> float | None:
        return self.tokens.prompt_tokens / self.window if self.window else None

    def summary(self) -> LlmCall:
        utilisation = self.utilisation
        return LlmCall(
            run_id=self.run.id,
            model=self.model,
            prompt_tokens=self.tokens.prompt_tokens,
            completion_tokens=self.tokens.completion_tokens,
            context_window=self.window,
            utilisation=round(utilisation, 4) if utilisation is not None else None,
        )


def _calls(trace: Trace, tallied: tuple[RunTokens, ...], model: str | None) -> list[_Call]:
    calls: list[_Call] = []
    evidence = 0
    for run, tokens in zip(trace.runs, tallied, strict=True):
        if run.kind in (RunKind.TOOL, RunKind.RETRIEVER):
            evidence += tokens.completion_tokens
        elif run.kind is RunKind.LLM:
            used = model or run.model
            window = model_info(used).context_window
            calls.append(
                _Call(run=run, tokens=tokens, model=used, window=window, evidence=evidence)
            )
    return sorted(calls, key=lambda c: -c.tokens.prompt_tokens)


def _health(calls: list[_Call], tally: _Tally) -> Health:
    rules = (
        (HealthLabel.HARD_TRUNCATION, _hard),
        (HealthLabel.SOFT_TRUNCATION, _soft),
        (HealthLabel.CONTEXT_STARVATION, _starved),
        (HealthLabel.ATTENTION_DILUTION, lambda call: _diluted(call, tally)),
    )
    for label, rule in rules:
        for call in calls:
            reason = rule(call)
            if reason:
                return Health(
                    label=label, reason=reason, run_id=call.run.id, meaning=MEANINGS[label]
                )
    reason = "no call reached a threshold" if calls else "the trace has no LLM calls"
    if calls and not any(call.window for call in calls):
        reason = "no call reached a threshold (context windows unknown: pass --model)"
    return Health(label=HealthLabel.OK, reason=reason, meaning=MEANINGS[HealthLabel.OK])


def _hard(call: _Call) -> str | None:
    prompt, completion = call.tokens.prompt_tokens, call.tokens.completion_tokens
    if call.run.error and _CONTEXT_ERROR.search(call.run.error):
        return f"the provider rejected the call for context length: {call.run.error[:160]!r}"
    if call.window and prompt >= HARD_UTILISATION * call.window:
        return f"prompt of {prompt:,} tokens ≥ the {call.window:,}-token window of {call.model}"
    stopped = (call.run.finish_reason or "").lower() in _LENGTH_STOPS
    if stopped and call.window and prompt + completion >= LENGTH_STOP_UTILISATION * call.window:
        return (
            f"stopped for length with {prompt + completion:,} of {call.window:,} tokens used "
            f"({call.model})"
        )
    return None


def _soft(call: _Call) -> str | None:
    utilisation = call.utilisation
    if utilisation is not None and utilisation >= SOFT_UTILISATION:
        return (
            f"prompt of {call.tokens.prompt_tokens:,} tokens is {utilisation:.0%} of the "
            f"{call.window:,}-token window of {call.model}"
        )
    return None


def _starved(call: _Call) -> str | None:
    prompt = call.tokens.prompt_tokens
    enough = call.evidence >= max(STARVATION_MIN_EVIDENCE, STARVATION_RATIO * prompt)
    if prompt < STARVATION_MAX_PROMPT and enough:
        return (
            f"prompt of {prompt:,} tokens although earlier tool and retriever runs returned "
            f"{call.evidence:,} tokens"
        )
    return None


def _diluted(call: _Call, tally: _Tally) -> str | None:
    utilisation, prompt = call.utilisation, call.tokens.prompt_tokens
    if utilisation is not None and utilisation >= DILUTION_UTILISATION:
        return f"prompt fills {utilisation:.0%} of the {call.window:,}-token window of {call.model}"
    if prompt < DILUTION_MIN_PROMPT:
        return None
    system = [m for m in call.run.input_messages if m.role == "system"]
    if not system:
        return None
    share = tally.counter_for(call.model).messages(system) / prompt
    if share < DILUTION_SYSTEM_SHARE:
        return f"system prompt is {share:.1%} of a {prompt:,}-token prompt"
    return None


def _call_notes(calls: list[_Call]) -> list[str]:
    notes: list[str] = []
    unknown = sorted({call.model or "no model" for call in calls if not call.window})
    if unknown:
        notes.append(
            f"context window unknown for {', '.join(unknown)}: pass --model to check truncation"
        )
    cut = [c for c in calls if (c.run.finish_reason or "").lower() in _LENGTH_STOPS]
    if cut:
        notes.append(
            f"{len(cut)} call(s) stopped at their output limit (finish_reason "
            f"{cut[0].run.finish_reason}), first {cut[0].run.id}: their answers were cut off"
        )
    return notes
