"""Finding: a deterministic detector's observation about one run.

Each Finding's evidence is a verbatim excerpt of the trace so that a person (or an LLM) can check
it. Detectors produce them (``analysis/detectors``); the verdict, the LLM prompt, ``--json`` and the
store read them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    """How much a finding matters to the failure."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class FindingKind(StrEnum):
    """What a detector found: a closed set shared by detectors, the verdict and ``patterns.yaml``.

    The value is the string that ``--json``, stored results and the knowledge base spell.
    """

    TOOL_ERROR = "tool_error"
    TOOL_OUTPUT_ERROR = "tool_output_error"
    UNKNOWN_TOOL = "unknown_tool"
    BAD_TOOL_ARGUMENTS = "bad_tool_arguments"
    EMPTY_TOOL_RESULT = "empty_tool_result"
    RETRY_AFTER_ERROR = "retry_after_error"
    INFRASTRUCTURE_ERROR = "infrastructure_error"
    RUN_ERROR = "run_error"
    ERROR_PROPAGATED = "error_propagated"
    PARSE_ERROR = "parse_error"
    CONTEXT_OVERFLOW = "context_overflow"
    LOOP_TOOL_CALL = "loop_tool_call"
    REPEATED_OUTPUT = "repeated_output"
    STEP_LIMIT = "step_limit"
    FINISH_LENGTH = "finish_length"
    PARSE_AFTER_TRUNCATION = "parse_after_truncation"
    NEAR_CONTEXT_WINDOW = "near_context_window"
    EMPTY_OUTPUT = "empty_output"
    EMPTY_FINAL_OUTPUT = "empty_final_output"
    CONTEXT_TRIMMED = "context_trimmed"
    CONTEXT_MISSING_INPUT = "context_missing_input"
    EMPTY_RETRIEVAL = "empty_retrieval"
    LOW_RELEVANCE_RETRIEVAL = "low_relevance_retrieval"
    RETRIEVAL_MISSED_FACTS = "retrieval_missed_facts"
    EXPECTATION_IN_PROMPT = "expectation_in_prompt"
    EXPECTATION_NOT_IN_PROMPT = "expectation_not_in_prompt"
    EXPECTATION_MET = "expectation_met"
    EXPECTATION_NOT_MET = "expectation_not_met"
    WRONG_FIGURE = "wrong_figure"
    PROMPT_DRIFT = "prompt_drift"


class Finding(BaseModel):
    """A deterministic detector's observation about one run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FindingKind
    """What was found (``tool_error``, ``loop_tool_call``, ``finish_length``...)."""
    severity: Severity
    """How much it matters."""
    run_id: str
    """The run it is about, as the source names it."""
    message: str
    """One sentence for a person."""
    evidence: str
    """A verbatim excerpt of the trace supporting it (may be empty only for absence findings)."""
