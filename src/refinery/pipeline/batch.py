"""Batch analyses (``--batch``, ``--resume``): the pipeline with every LLM call as a provider batch.

``analyze_batch`` runs ``analyze`` with an ``LLMAnalyser`` over a ``BatchProvider``
(``llm/batch.py``), which submits, polls and fetches each call and records each batch with the
analysis inputs; ``resume_batch`` re-runs the analysis from such a record, the provider answering
from what was already fetched or polling what is still pending. These are pipeline entry points, so
they live here, beside ``analyze``; the provider layer knows nothing of the pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..config import Settings
from ..llm.batch import BatchJob, BatchProvider, Sleep, load_record
from ..llm.batch_backends import batch_backend
from ..progress import OnProgress, no_progress
from .options import AnalyzeOptions, ContextRequest
from .result import AnalysisResult
from .stages import analyze


def analyze_batch(
    trace_ref: str | Path,
    *,
    project: str,
    expected: str,
    settings: Settings,
    options: AnalyzeOptions | None = None,
    on_progress: OnProgress = no_progress,
    sleep: Sleep = time.sleep,
) -> AnalysisResult:
    """``refinery analyze --batch``: the analysis with each LLM call as a batch, waited for."""
    job = BatchJob(
        trace=_trace_reference(trace_ref), project=project, expected=expected,
        options=asdict(options or AnalyzeOptions()),
    )  # fmt: skip
    return _run(job, settings, None, on_progress, sleep)


def resume_batch(
    batch_id: str,
    settings: Settings,
    *,
    on_progress: OnProgress = no_progress,
    sleep: Sleep = time.sleep,
) -> AnalysisResult:
    """``refinery analyze --resume BATCH_ID``: finish the analysis that submitted ``batch_id``."""
    record = load_record(settings, batch_id)
    resumed = settings.with_overrides(
        provider=record.provider, model=record.model, reasoning=record.reasoning
    )
    return _run(record.job, resumed, batch_id, on_progress, sleep)


def _run(
    job: BatchJob, settings: Settings, resume: str | None, on_progress: OnProgress, sleep: Sleep
) -> AnalysisResult:
    from ..analysis.llm_analyst import LLMAnalyser

    provider = BatchProvider(
        batch_backend(settings), settings, job, resume=resume, on_progress=on_progress, sleep=sleep
    )
    return analyze(
        job.trace, project=job.project, expected=job.expected, settings=settings,
        options=_options(job.options), analyser=LLMAnalyser(provider, settings),
        on_progress=on_progress,
    )  # fmt: skip


def _trace_reference(trace_ref: str | Path) -> str:
    """A file as its absolute path (resume may run elsewhere), an id as it is."""
    name, mark, select = str(trace_ref).partition("#")
    path = Path(name)
    return f"{path.resolve()}{mark}{select}" if path.is_file() else str(trace_ref)


def _options(raw: Mapping[str, Any]) -> AnalyzeOptions:
    return AnalyzeOptions(**{**raw, "context": ContextRequest(**raw.get("context", {}))})
