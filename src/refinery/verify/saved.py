"""Verification and saved analyses: load one, keep its verification beside it, apply the best fix.

Saved analyses (``.refinery/analyses/``) come from the pipeline's ``saved`` module where this
build has it; this adapter is the one place that asks, so ``verify`` works on analyses made now
(``analyze --verify``) either way. A saved analysis names its trace but does not hold it: a trace
from LangSmith or Langfuse is fetched again by id, a trace file is passed again with ``--trace``.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..config import Settings
from ..errors import ConfigError, InputError
from ..models.verification import VerificationReport
from ..pipeline import AnalysisResult
from ..progress import OnProgress, no_progress
from ..traces.model import Trace

ATTACHMENT = "verification"


def _pipeline() -> Any:
    return importlib.import_module("refinery.pipeline")


def analyses_kept() -> bool:
    """True when this build keeps analyses (so ``refinery apply ID N`` can apply a fix later)."""
    return hasattr(_pipeline(), "apply_saved")


def load_saved(settings: Settings, analysis_id: str | None) -> AnalysisResult:
    """The saved analysis named by id or prefix (None: the latest)."""
    load = getattr(_pipeline(), "load_analysis", None)
    if load is None:
        raise ConfigError(
            "this version of Refinery does not keep analyses yet",
            "verify while analysing: refinery analyze TRACE ... --verify",
        )
    result: AnalysisResult = load(settings, analysis_id)
    return result


def load_saved_trace(
    settings: Settings, result: AnalysisResult, path: str | None, on_progress: OnProgress
) -> Trace:
    """The analysed trace: ``path`` when given, else fetched again by id from its service."""
    from ..traces.sources import load_trace

    if path:
        trace = load_trace(path, settings, on_progress=on_progress)
        if trace.id != result.trace.id:
            raise InputError(
                f"{path} holds trace {trace.id}, not {result.trace.id} of {result.analysis_id}",
                "pass the trace file that was analysed",
            )
        return trace
    if result.trace.source == "file":
        raise InputError(
            f"{result.analysis_id} analysed a trace file, which is not kept",
            "pass it again with --trace PATH",
        )
    return load_trace(
        result.trace.id, settings, source=result.trace.source, on_progress=on_progress
    )


def save_verification(
    settings: Settings, result: AnalysisResult, report: VerificationReport
) -> bool:
    """Keep ``report`` beside the saved analysis; False when analyses are not kept."""
    save = getattr(_pipeline(), "save_attachment", None)
    if save is None:
        return False
    save(settings, result.analysis_id, ATTACHMENT, report)
    return True


def load_verification(settings: Settings, analysis_id: str) -> VerificationReport | None:
    """The verification saved beside an analysis, if any."""
    load = getattr(_pipeline(), "load_attachment", None)
    if load is None:
        return None
    found: VerificationReport | None = load(settings, analysis_id, ATTACHMENT, VerificationReport)
    return found


def apply_fix(
    result: AnalysisResult,
    rank: int,
    settings: Settings,
    *,
    allow_dirty: bool = False,
    on_progress: OnProgress = no_progress,
) -> AnalysisResult:
    """Apply fix ``rank`` of a fresh analysis (after verification chose it)."""
    pipeline = _pipeline()
    apply = getattr(pipeline, "apply_analysis", None)
    if apply is not None:
        applied: AnalysisResult = apply(
            result, rank, settings, allow_dirty=allow_dirty, on_progress=on_progress
        )
        return applied
    options = pipeline.AnalyzeOptions(apply=rank, allow_dirty=allow_dirty)
    applied = pipeline._apply(result, options, settings, on_progress)
    return applied


def best_verified(settings: Settings, analysis_id: str) -> int | None:
    """The best verified fix of a saved analysis (``apply`` without N), if it was verified."""
    report = load_verification(settings, analysis_id)
    return report.best() if report else None
