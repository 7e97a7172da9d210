"""The pipeline: the library entry points that sequence every stage, and keep what they produced.

``analyze`` (``stages``) ingests, detects, condenses, diagnoses, validates and saves one analysis;
``analyze_batch``/``resume_batch`` (``batch``) run it through a provider's batch API; ``saved``
shows, applies and undoes from saved analyses and lists the history. Layers import one way:
``traces`` → ``store`` → ``analysis``/``llm``/``fixes`` → ``pipeline`` → ``cli``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .batch import analyze_batch, resume_batch
    from .options import AnalyzeOptions, ContextRequest
    from .result import AnalyserRef, AnalysisResult, AppliedRef
    from .saved import (
        AppliedSaved,
        apply_analysis,
        apply_saved,
        history,
        load_analysis,
        load_attachment,
        save_analysis,
        save_attachment,
        undo_change,
    )
    from .stages import analyze, choose_analyser

# Imported on first use: ``refinery history`` and ``show`` need neither the stages nor the batch
# providers, and pay only for what they use.
_LAZY = {
    **dict.fromkeys(("analyze_batch", "resume_batch"), "batch"),
    **dict.fromkeys(("AnalyzeOptions", "ContextRequest"), "options"),
    **dict.fromkeys(("AnalyserRef", "AnalysisResult", "AppliedRef"), "result"),
    **dict.fromkeys(
        (
            "AppliedSaved",
            "apply_analysis",
            "apply_saved",
            "history",
            "load_analysis",
            "load_attachment",
            "save_analysis",
            "save_attachment",
            "undo_change",
        ),
        "saved",
    ),  # fmt: skip
    **dict.fromkeys(("analyze", "choose_analyser"), "stages"),
}

__all__ = [
    "AnalyserRef",
    "AnalysisResult",
    "AnalyzeOptions",
    "AppliedRef",
    "AppliedSaved",
    "ContextRequest",
    "analyze",
    "analyze_batch",
    "apply_analysis",
    "apply_saved",
    "choose_analyser",
    "history",
    "load_analysis",
    "load_attachment",
    "resume_batch",
    "save_analysis",
    "save_attachment",
    "undo_change",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'refinery.pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
