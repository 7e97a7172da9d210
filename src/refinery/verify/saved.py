"""Verification and saved analyses: load one, keep its verification beside it, pick the best fix.

A verification is kept as the ``verification`` attachment of its analysis
(``.refinery/analyses/<id>/verification.json``), so ``show`` prints it and ``apply`` without N
takes the best verified fix. A saved analysis names its trace but does not hold it: a trace from
LangSmith or Langfuse is fetched again by id, a trace file is passed again with ``--trace``.
"""

from __future__ import annotations

from ..config import Settings
from ..errors import InputError
from ..models.verification import VerificationReport
from ..pipeline import AnalysisResult, load_attachment, save_attachment
from ..progress import OnProgress
from ..traces.model import Trace

ATTACHMENT = "verification"


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
) -> None:
    """Keep ``report`` beside its saved analysis."""
    save_attachment(settings, result.analysis_id, ATTACHMENT, report)


def load_verification(settings: Settings, analysis_id: str) -> VerificationReport | None:
    """The verification saved beside an analysis, if any."""
    return load_attachment(settings, analysis_id, ATTACHMENT, VerificationReport)


def best_verified(settings: Settings, analysis_id: str) -> int | None:
    """The best verified fix of a saved analysis (``apply`` without N), if it was verified."""
    report = load_verification(settings, analysis_id)
    return report.best() if report else None
