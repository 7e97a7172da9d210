"""Refinery: from a failing agent trace and an expectation to a safely applied fix.

One trace and one line of expected behaviour become a diagnosis, ranked fixes and a safely applied
change. The public API is what this module exports; the CLI is a thin layer over it. Names are
imported on first use so that ``refinery --help`` does not pay for pydantic or the pipeline.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AlreadyApplied,
    ApplyRefused,
    ConfigError,
    InputError,
    ProviderError,
    RefineryError,
)

if TYPE_CHECKING:
    from .config import Settings, load_settings
    from .fixes.apply import apply_change, dry_run, undo
    from .models.change import Change
    from .models.diagnosis import Diagnosis, Edit, Evidence, FailureType, Hypothesis
    from .models.findings import Finding
    from .pipeline import (
        AnalysisResult,
        AnalyzeOptions,
        ContextRequest,
        analyze,
        apply_saved,
        history,
        load_analysis,
    )
    from .traces.model import Message, Run, RunKind, TokenUsage, ToolCall, Trace
    from .traces.sources import load_trace

__version__ = "0.1.0"

_LAZY = {
    "AnalysisResult": "pipeline",
    "AnalyzeOptions": "pipeline",
    "ContextRequest": "pipeline",
    "analyze": "pipeline",
    "apply_saved": "pipeline",
    "history": "pipeline",
    "load_analysis": "pipeline",
    "Change": "models.change",
    "apply_change": "fixes.apply",
    "dry_run": "fixes.apply",
    "undo": "fixes.apply",
    "Diagnosis": "models.diagnosis",
    "Edit": "models.diagnosis",
    "Evidence": "models.diagnosis",
    "FailureType": "models.diagnosis",
    "Hypothesis": "models.diagnosis",
    "Finding": "models.findings",
    "Settings": "config",
    "load_settings": "config",
    "Message": "traces.model",
    "Run": "traces.model",
    "RunKind": "traces.model",
    "TokenUsage": "traces.model",
    "ToolCall": "traces.model",
    "Trace": "traces.model",
    "load_trace": "traces.sources",
}

__all__ = [
    "AlreadyApplied",
    "AnalysisResult",
    "AnalyzeOptions",
    "ApplyRefused",
    "Change",
    "ConfigError",
    "ContextRequest",
    "Diagnosis",
    "Edit",
    "Evidence",
    "FailureType",
    "Finding",
    "Hypothesis",
    "InputError",
    "Message",
    "ProviderError",
    "RefineryError",
    "Run",
    "RunKind",
    "Settings",
    "TokenUsage",
    "ToolCall",
    "Trace",
    "analyze",
    "apply_change",
    "apply_saved",
    "dry_run",
    "history",
    "load_analysis",
    "load_settings",
    "load_trace",
    "undo",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'refinery' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
