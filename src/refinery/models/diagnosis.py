"""Diagnosis, Hypothesis and Edit: what an analyser (offline rules or an LLM) returns.

These frozen models are at once the ``--json`` output, the LLM's response schema and what the fixer
applies.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

# Field docstrings become schema descriptions: the LLM reads them as its instructions per field.
_FROZEN = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class FailureType(StrEnum):
    """The failure taxonomy (SPEC §4)."""

    INSTRUCTION_GAP = "instruction_gap"
    INSTRUCTION_NOT_FOLLOWED = "instruction_not_followed"
    CONTEXT_ISSUE = "context_issue"
    RETRIEVAL_ISSUE = "retrieval_issue"
    TOOL_ERROR = "tool_error"
    ORCHESTRATION_ISSUE = "orchestration_issue"
    OUTPUT_FORMAT = "output_format"
    MODEL_LIMITATION = "model_limitation"
    INFRASTRUCTURE = "infrastructure"


class Level(StrEnum):
    """Three-step scale for confidence and risk."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Quote(BaseModel):
    """A verbatim quote from one run."""

    model_config = _FROZEN

    run_id: str
    """The id of the run quoted, as the trace names it."""
    quote: str
    """Text copied exactly from that run (a short excerpt, not a paraphrase)."""


class Evidence(Quote):
    """A quote from one run supporting the diagnosis, and whether it was found there."""

    verified: bool = False
    """True when the quote was found verbatim in that run (or, failing that, in the trace)."""


class Divergence(BaseModel):
    """The earliest step where the agent's behaviour left the expected path."""

    model_config = _FROZEN

    run_id: str
    """The id of that step's run, as the trace names it (``msg-<index>`` for a transcript)."""
    name: str
    """The run's name, or the agent that spoke at that step."""
    position: int
    """Its position in execution order (for a transcript, the message index)."""
    reason: str
    """One line: what went wrong at that step."""


class DiagnosisDraft(BaseModel):
    """What went wrong, where and why, as an analyser states it (quotes not yet verified)."""

    model_config = _FROZEN

    failure_type: FailureType
    """The taxonomy category."""
    root_cause: str
    """The cause in one or two sentences."""
    confidence: Level
    """How sure the analyser is."""
    confidence_reason: str
    """Why that confidence, in one line."""
    trace_summary: str
    """What happened, step by step, briefly."""
    gap: str
    """Expected behaviour versus what actually happened."""
    executive_summary: str
    """Plain language for a non-engineer."""
    affected_component: str
    """Which prompt, tool or config is at fault, and whether the fault is within its control."""
    evidence: tuple[Quote, ...] = ()
    """Verbatim quotes from the trace supporting the diagnosis."""
    divergence: Divergence | None = None
    """The earliest step where behaviour left the expected path; None when it cannot be told."""


class Diagnosis(DiagnosisDraft):
    """What went wrong, where and why, with every quote checked against the trace."""

    evidence: tuple[Evidence, ...] = ()
    """Quotes from the trace supporting the diagnosis."""


class Edit(BaseModel):
    """Replace ``search`` (which must occur exactly once) with ``replace`` in ``file``."""

    model_config = _FROZEN

    file: str
    """Path relative to the repository root."""
    search: str
    """Exact current text to replace; empty only to create a new file."""
    replace: str
    """The new text."""


class HypothesisDraft(BaseModel):
    """One ranked fix strategy with concrete edits."""

    model_config = _FROZEN

    rank: int
    """1 is the most promising."""
    title: str
    """Short name of the fix."""
    strategy: str
    """The kind of fix (``add_rule``, ``reposition_rule``, ``add_eval``, ``change_config``...)."""
    rationale: str
    """Why it should work, tied to the evidence."""
    failure_type: FailureType
    """The failure type it addresses."""
    risk: Level
    """How likely it is to break something else."""
    risk_reasons: tuple[str, ...] = ()
    """Why that risk."""
    expected_effect: str
    """What should change in the agent's behaviour."""
    edits: tuple[Edit, ...] = ()
    """The exact edits."""
    patterns: tuple[str, ...] = ()
    """Knowledge-base pattern ids it applies."""


class Hypothesis(HypothesisDraft):
    """A ranked fix, with the result of checking its edits against the files."""

    valid: bool = True
    """False when an edit does not apply cleanly to the current files."""
    problems: tuple[str, ...] = Field(default=())
    """Why it is not valid, one line each."""
