"""Token limits and empty answers: the model stopped, or was starved, before it could do the job.

An output cut at ``max_tokens`` is usually unparseable by the next step; a prompt filling most of
the model's context window drowns its instructions (or is cut by the provider); an LLM call that
returns nothing, or a root that ends with nothing, is a premature stop. Prompt sizes come from the
source's usage when it reports them, else from a cheap estimate refined by exact counting only
when the estimate is close to the window.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...knowledge.models import model_info
from ...traces.model import Run, RunKind
from ..findings import DetectorInput, Finding, FindingKind, Severity, detector
from ..token_count import count_tokens
from .errors import PARSE, SIGNATURES, error_excerpt
from .excerpts import finding, head, search, tail

_LENGTH_REASONS = {"length", "max_tokens", "max_output_tokens", "model_length", "token_limit"}
_PARSE_PATTERN = next(s.pattern for s in SIGNATURES if s.kind == PARSE)
_NEAR, _VERY_NEAR = 0.75, 0.9
_CHARS_PER_TOKEN = 4
_NOT_CONTENT = {
    "type",
    "id",
    "lc",
    "role",
    "name",
    "model",
    "model_name",
    "finish_reason",
    "stop_reason",
    "object",
    "system_fingerprint",
    "status",
    "tool_call_id",
    "usage_metadata",
    "response_metadata",
    "generation_info",
    "llm_output",
    "usage",
    "run",
}


def truncated(run: Run) -> bool:
    """True when the model stopped because it ran out of output tokens."""
    reason = (run.finish_reason or "").strip().lower()
    return reason in _LENGTH_REASONS or "max_tokens" in reason


@detector
def finish_length(data: DetectorInput) -> Iterator[Finding]:
    """LLM outputs cut at the token limit (finish_reason length / max_tokens / MAX_TOKENS)."""
    for run in data.trace.of_kind(RunKind.LLM):
        if truncated(run):
            limit = run.invocation_params.get("max_tokens") or run.invocation_params.get(
                "max_output_tokens"
            )
            cap = f" (max_tokens={limit})" if limit else ""
            message = f"the model's output was cut at the token limit{cap}: finish_reason "
            message += f"'{run.finish_reason}'"
            yield finding(
                FindingKind.FINISH_LENGTH, Severity.HIGH, run, message, tail(run.output_text)
            )


def _parse_failure(run: Run) -> bool:
    if not run.failed:
        return False
    return run.kind is RunKind.PARSER or search(_PARSE_PATTERN, run.error or "") is not None


@detector
def parse_after_truncation(data: DetectorInput) -> Iterator[Finding]:
    """A parser (or any run) failing to parse after an LLM output was cut at the token limit."""
    cut: Run | None = None
    for run in data.trace.runs:
        if run.kind is RunKind.LLM and truncated(run):
            cut = run
        elif cut is not None and _parse_failure(run):
            message = f"'{run.name}' failed to parse after run {cut.id} was cut at the token limit"
            evidence = error_excerpt(run.error or "")
            yield finding(FindingKind.PARSE_AFTER_TRUNCATION, Severity.HIGH, run, message, evidence)
            cut = None


def _prompt_tokens(run: Run, window: int) -> int:
    if run.usage and run.usage.prompt_tokens:
        return run.usage.prompt_tokens
    texts = [m.content for m in run.input_messages if m.content]
    estimate = sum(len(text) for text in texts) // _CHARS_PER_TOKEN
    if estimate < window * _NEAR / 2:
        return estimate
    return count_tokens("\n".join(texts), run.model)


def _window_finding(run: Run, tokens: int, window: int) -> Finding | None:
    share = tokens / window
    if share < _NEAR:
        return None
    biggest = max(run.input_messages, key=lambda m: len(m.content), default=None)
    evidence = head(biggest.content) if biggest else ""
    numbers = f"{tokens:,} prompt tokens, {share:.0%} of {run.model}'s {window:,}-token window"
    if share > 1:
        return finding(
            FindingKind.NEAR_CONTEXT_WINDOW, Severity.HIGH, run, f"{numbers}: over it", evidence
        )
    severity = Severity.HIGH if share >= _VERY_NEAR else Severity.MEDIUM
    return finding(FindingKind.NEAR_CONTEXT_WINDOW, severity, run, f"{numbers}: near it", evidence)


@detector
def near_context_window(data: DetectorInput) -> Iterator[Finding]:
    """LLM calls whose prompt fills most of (or exceeds) the model's context window."""
    windows: dict[str | None, int | None] = {}
    for run in data.trace.of_kind(RunKind.LLM):
        if run.model not in windows:
            windows[run.model] = model_info(run.model).context_window
        window = windows[run.model]
        if window:
            found = _window_finding(run, _prompt_tokens(run, window), window)
            if found:
                yield found


def _has_content(value: Any, key: str = "", depth: int = 0) -> bool:
    if key in _NOT_CONTENT or depth > 12:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, dict):
        return any(_has_content(v, str(k), depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_content(v, key, depth + 1) for v in value)
    return False


def _empty_llm_output(run: Run) -> bool:
    if run.failed or any(m.content.strip() or m.tool_calls for m in run.output_messages):
        return False
    return run.outputs is not None and not _has_content(run.outputs)


@detector
def empty_outputs(data: DetectorInput) -> Iterator[Finding]:
    """LLM calls that returned neither text nor tool calls, and roots that ended with nothing."""
    llm_runs = data.trace.of_kind(RunKind.LLM)
    last = llm_runs[-1].id if llm_runs else None
    for run in llm_runs:
        if _empty_llm_output(run):
            severity = Severity.HIGH if run.id == last else Severity.MEDIUM
            message = f"LLM call '{run.name}' returned no text and no tool calls"
            yield finding(FindingKind.EMPTY_OUTPUT, severity, run, message)
    for root in data.trace.roots:
        if root.kind is RunKind.LLM or root.failed or root.outputs is None:
            continue
        if not _has_content(root.outputs):
            message = f"the trace's root '{root.name}' ended with an empty output"
            yield finding(FindingKind.EMPTY_FINAL_OUTPUT, Severity.HIGH, root, message)
