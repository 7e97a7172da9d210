"""Verification and saved analyses: load one, keep its verification beside it, pick the best fix.

A verification is kept as the ``verification`` attachment of its analysis
(``.refinery/analyses/<id>/verification.json``), so ``show`` prints it and ``apply`` without N
takes the best verified fix. A saved analysis names its trace but does not hold it: a trace from
LangSmith or Langfuse is fetched again by id; a trace file is read again from where the analysis
read it (the ``trace_file`` attachment), or from ``--trace`` when it has moved.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..config import Settings
from ..errors import InputError
from ..models.verification import VerificationReport
from ..pipeline import AnalysisResult, load_attachment, save_attachment
from ..progress import OnProgress
from ..traces.model import Trace

ATTACHMENT = "verification"
TRACE_FILE = "trace_file"


class TraceFile(BaseModel):
    """Where an analysed trace file was read: an absolute path, with ``#N`` when one was picked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ref: str


def remember_trace_file(settings: Settings, analysis_id: str, ref: str) -> None:
    """Keep where the analysed trace file is, so that ``refinery verify`` needs no ``--trace``."""
    from ..traces.sources import split_selector

    path, index = split_selector(ref)
    absolute = str(Path(path).resolve()) + ("" if index is None else f"#{index}")
    save_attachment(settings, analysis_id, TRACE_FILE, TraceFile(ref=absolute))


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
        return _trace_file(settings, result, on_progress)
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


def _trace_file(settings: Settings, result: AnalysisResult, on_progress: OnProgress) -> Trace:
    """The trace file read again from where the analysis read it, if it still holds the trace."""
    from ..traces.sources import load_trace, split_selector

    kept = load_attachment(settings, result.analysis_id, TRACE_FILE, TraceFile)
    if kept is not None and Path(split_selector(kept.ref)[0]).is_file():
        trace = load_trace(kept.ref, settings, source="file", on_progress=on_progress)
        if trace.id == result.trace.id:
            return trace
    where = f" from {kept.ref}, which no longer holds it" if kept else ""
    raise InputError(
        f"{result.analysis_id} analysed a trace file{where}", "pass it with --trace PATH"
    )
