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


class Finding(BaseModel):
    """A deterministic detector's observation about one run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    """What was found (``tool_error``, ``loop_tool_call``, ``finish_length``...)."""
    severity: Severity
    """How much it matters."""
    run_id: str
    """The run it is about, as the source names it."""
    message: str
    """One sentence for a person."""
    evidence: str
    """A verbatim excerpt of the trace supporting it (may be empty only for absence findings)."""
