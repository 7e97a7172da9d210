"""The shared data models: one home below every layer that uses them.

Traces have their own model (``traces.model``); what analysis produces and the fixer applies lives
here, so that ``analysis``, ``llm``, ``fixes``, ``store`` and the pipeline import one way.
"""

from .change import Change, ChangedFile
from .diagnosis import (
    Diagnosis,
    DiagnosisDraft,
    Divergence,
    Edit,
    Evidence,
    FailureType,
    Hypothesis,
    HypothesisDraft,
    Level,
    Quote,
)
from .findings import Finding, Severity

__all__ = [
    "Change",
    "ChangedFile",
    "Diagnosis",
    "DiagnosisDraft",
    "Divergence",
    "Edit",
    "Evidence",
    "FailureType",
    "Finding",
    "Hypothesis",
    "HypothesisDraft",
    "Level",
    "Quote",
    "Severity",
]
