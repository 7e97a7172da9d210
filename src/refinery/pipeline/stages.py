"""The analysis pipeline: ingest → detect → condense → diagnose and hypothesise → validate → save.

``analyze`` is the one library function behind ``refinery analyze``; it returns an
``AnalysisResult``, the object ``--json`` prints, after saving it (``pipeline.saved``) so that
``refinery show`` and ``refinery apply`` work from exactly what was shown. Each stage lives in its
own package; this module only sequences them and reports progress.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ..analysis.analyser import Analyser, AnalyserInput, AnalyserOutput, ContextFile, FileRole
from ..analysis.findings import DetectorInput, Finding
from ..config import Settings, analyser_source
from ..errors import InputError
from ..gcpause import paused_gc
from ..models.diagnosis import Diagnosis, Hypothesis
from ..progress import OnProgress, ProgressEvent, no_progress
from ..redaction import redact_texts
from ..store.context_file import ContextFiles
from ..store.paths import ensure_state_dir
from ..traces.model import Trace
from ..traces.sources import load_trace
from .options import AnalyzeOptions, ContextRequest
from .result import AnalyserRef, AnalysisResult


@paused_gc()
def analyze(
    trace_ref: str | Path | Trace,
    *,
    project: str,
    expected: str,
    settings: Settings,
    options: AnalyzeOptions | None = None,
    analyser: Analyser | None = None,
    on_progress: OnProgress = no_progress,
) -> AnalysisResult:
    """Diagnose a failing trace against the expected behaviour; propose (or apply) fixes.

    The result is saved under ``.refinery/analyses/`` before anything is applied.
    """
    from .saved import apply_analysis, save_analysis

    options = options or AnalyzeOptions()
    if not expected.strip():
        raise InputError("--expected is empty", "say in one line what the agent should have done")
    if options.apply is not None:
        from ..fixes.apply import check_can_commit

        check_can_commit(settings)  # before anything is written, not after the analysis
    trace = _load(trace_ref, settings, options, on_progress)
    ensure_state_dir(settings)
    used, warnings = _resolve_context(settings, project, trace, expected, options.context)
    files, raw = _read_files(settings, used)
    findings = _detect(trace, expected, files, on_progress)
    condensed = _condense(trace, findings, options.budget, on_progress)
    chosen = analyser or choose_analyser(settings)
    key = analyser_source(settings, chosen.name).key
    doing = f"diagnosing with {chosen.name}" + (f", key {key}" if key else "")
    on_progress(ProgressEvent(stage="analyze", message=doing))
    output = chosen.analyse(
        AnalyserInput(
            trace=trace, expected=expected, findings=tuple(findings), condensed=condensed,
            files=files,
        )
    )  # fmt: skip
    on_progress(ProgressEvent(stage="validate", message="checking each fix against the files"))
    result = _result(
        output, chosen, trace, project=project, expected=expected, used=used, findings=findings,
        warnings=warnings, raw=raw, files=files, settings=settings,
        allow_dirty=options.allow_dirty,
    )  # fmt: skip
    on_progress(ProgressEvent(stage="save", message=f"saving analysis {result.analysis_id}"))
    save_analysis(settings, result, snapshots=raw)
    if options.apply is None:
        return result
    return apply_analysis(
        result, options.apply, settings, allow_dirty=options.allow_dirty, on_progress=on_progress
    )


def _result(
    output: AnalyserOutput,
    chosen: Analyser,
    trace: Trace,
    *,
    project: str,
    expected: str,
    used: ContextFiles,
    findings: list[Finding],
    warnings: list[str],
    raw: dict[str, bytes],
    files: tuple[ContextFile, ...],
    settings: Settings,
    allow_dirty: bool,
) -> AnalysisResult:
    redacted = _redacted(output.hypotheses, trace, files)
    hypotheses, diffs, present = _validate(redacted, used, settings, allow_dirty)
    diagnosis, findings = _shown(_with_divergence(output.diagnosis, trace, findings), findings)
    source = analyser_source(settings, chosen.name)
    return AnalysisResult(
        analysis_id=f"an_{uuid.uuid4().hex[:12]}",
        created_at=datetime.now(UTC),
        project=project,
        expected=expected,
        trace=trace.ref(),
        context=used,
        analyser=AnalyserRef(
            provider=chosen.name,
            model=chosen.model,
            prompt_version=getattr(chosen, "prompt_version", None),
            key_source=source.key,
        ),
        findings=tuple(findings),
        diagnosis=diagnosis,
        hypotheses=hypotheses,
        diffs=diffs,
        already_present=present,
        usage=output.usage,
        warnings=(
            *([source.warning] if source.warning else ()),
            *trace.metadata.get("warnings", ()),
            *warnings,
            *getattr(chosen, "warnings", ()),
        ),
        file_sha256={path: hashlib.sha256(data).hexdigest() for path, data in raw.items()},
    )


def _load(
    trace_ref: str | Path | Trace,
    settings: Settings,
    options: AnalyzeOptions,
    on_progress: OnProgress,
) -> Trace:
    if isinstance(trace_ref, Trace):
        return trace_ref
    on_progress(ProgressEvent(stage="load", message=f"loading trace {trace_ref}"))
    return load_trace(trace_ref, settings, source=options.source, on_progress=on_progress)


def _resolve_context(
    settings: Settings, project: str, trace: Trace, expected: str, request: ContextRequest
) -> tuple[ContextFiles, list[str]]:
    from ..store.context import resolve_context

    extracted = None
    if request.extract_from_trace:
        from ..store.extract import extract_from_trace

        extracted = extract_from_trace(trace, settings, project, expected=expected)
    resolved = resolve_context(
        settings,
        project,
        prompt_files=request.prompt_files,
        eval_files=request.eval_files,
        config_files=request.config_files,
        add_prompts=request.add_prompts,
        add_evals=request.add_evals,
        remove_prompts=request.remove_prompts,
        remove_evals=request.remove_evals,
        update=request.update,
        extracted=extracted,
        cwd=request.cwd,
    )
    ref = ContextFiles(
        prompt_files=tuple(resolved.context.prompt_files),
        eval_files=tuple(resolved.context.eval_files),
        config_files=tuple(resolved.context.config_files),
    )
    warnings = [
        f"{path} is missing: dropped from the project's context" for path in resolved.missing
    ]
    if extracted is not None and extracted.written:
        folder = Path(os.path.commonpath(extracted.written)).as_posix()
        warnings.append(
            f"extracted {len(extracted.written)} file(s) into {folder}: review them, then commit "
            f"them (git add {folder} && git commit) so that --apply can edit them"
        )
    notes = list(extracted.notes) if extracted is not None else []
    return ref, [*warnings, *notes, *resolved.warnings]


def _read_files(
    settings: Settings, used: ContextFiles
) -> tuple[tuple[ContextFile, ...], dict[str, bytes]]:
    """Each context file's text, and its bytes as read (``refinery apply`` checks them later)."""
    from ..store.context import read_context_file

    roles = (
        (FileRole.PROMPT, used.prompt_files),
        (FileRole.EVAL, used.eval_files),
        (FileRole.CONFIG, used.config_files),
    )
    files: list[ContextFile] = []
    raw: dict[str, bytes] = {}
    for role, paths in roles:
        for path in paths:
            data = read_context_file(settings, path)
            try:
                content = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"cannot read {path}: {exc}", "check the file") from exc
            # Universal newlines, as read_text gives them: edits are written with \n.
            content = content.replace("\r\n", "\n").replace("\r", "\n")
            files.append(ContextFile(path=path, role=role, content=content))
            raw[path] = data
    return tuple(files), raw


def _detect(
    trace: Trace, expected: str, files: tuple[ContextFile, ...], on_progress: OnProgress
) -> list[Finding]:
    from ..analysis.detectors import run_detectors

    on_progress(ProgressEvent(stage="detect", message=f"running detectors over {len(trace)} runs"))
    prompts = tuple((f.path, f.content) for f in files if f.role is FileRole.PROMPT)
    return run_detectors(DetectorInput(trace=trace, expected=expected, prompt_texts=prompts))


def _with_divergence(diagnosis: Diagnosis, trace: Trace, findings: list[Finding]) -> Diagnosis:
    """The diagnosis with the step where it went wrong, found from the trace when not given."""
    from ..analysis.divergence import divergence_of, evidence_of, find_divergence

    if diagnosis.divergence is not None and diagnosis.divergence.run_id in trace:
        return diagnosis
    candidate = find_divergence(trace, findings)
    if candidate is None:
        return diagnosis.model_copy(update={"divergence": None})
    evidence = diagnosis.evidence
    quote = evidence_of(candidate)
    if quote is not None and all(e.run_id != candidate.run.id for e in evidence):
        evidence = (quote, *evidence)
    update = {"divergence": divergence_of(trace, candidate), "evidence": evidence}
    return diagnosis.model_copy(update=update)


def _condense(trace: Trace, findings: list[Finding], budget: int, on_progress: OnProgress) -> str:
    from ..analysis.condense import condense

    on_progress(ProgressEvent(stage="condense", message=f"condensing to {budget:,} tokens"))
    return condense(trace, findings, budget).text


def choose_analyser(settings: Settings) -> Analyser:
    """The LLM analyser configured by flags or keys, else the offline analyser."""
    from ..analysis.offline import OfflineAnalyser
    from ..llm.provider import detect_provider

    if settings.provider == "offline" or (
        settings.provider is None and not detect_provider(settings)
    ):
        return OfflineAnalyser()
    from ..analysis.llm_analyst import llm_analyser

    return llm_analyser(settings)


def _redacted(
    hypotheses: Sequence[Hypothesis], trace: Trace, files: tuple[ContextFile, ...]
) -> tuple[Hypothesis, ...]:
    """Whoever wrote the hypotheses, no sensitive value of the trace is left in them."""
    from functools import cache

    from ..redaction.hypotheses import redact_hypotheses

    @cache
    def dumped() -> str:
        return trace.model_dump_json()

    def in_trace(value: str) -> bool:
        return value in dumped() or json.dumps(value)[1:-1] in dumped()

    return redact_hypotheses(hypotheses, in_trace, {f.path: f.content for f in files})


_DIAGNOSIS_TEXTS = (
    "root_cause", "confidence_reason", "trace_summary", "gap", "executive_summary",
    "affected_component",
)  # fmt: skip


def _shown(diagnosis: Diagnosis, findings: list[Finding]) -> tuple[Diagnosis, list[Finding]]:
    """Diagnosis and findings as shown and kept, with sensitive values replaced by placeholders.

    Quotes were checked against the trace first; an analysis is saved under ``.refinery/``, so keys,
    cards, emails and the like never reach the disk through it.
    """
    texts = [getattr(diagnosis, name) for name in _DIAGNOSIS_TEXTS]
    texts += [e.quote for e in diagnosis.evidence]
    texts += [t for f in findings for t in (f.message, f.evidence)]
    step = diagnosis.divergence
    texts += [step.reason] if step else []
    clean = iter(redact_texts(texts))
    update: dict[str, object] = {name: next(clean) for name in _DIAGNOSIS_TEXTS}
    update["evidence"] = tuple(
        e.model_copy(update={"quote": next(clean)}) for e in diagnosis.evidence
    )
    shown = [
        f.model_copy(update={"message": next(clean), "evidence": next(clean)}) for f in findings
    ]
    if step is not None:
        update["divergence"] = step.model_copy(update={"reason": next(clean)})
    return diagnosis.model_copy(update=update), shown


def _validate(
    hypotheses: Sequence[Hypothesis], used: ContextFiles, settings: Settings, allow_dirty: bool
) -> tuple[tuple[Hypothesis, ...], dict[int, str], tuple[int, ...]]:
    """Dry-run every hypothesis: diffs, reasons to refuse, ranks its files already hold."""
    from ..fixes.apply import dry_run

    allowed = [*used.prompt_files, *used.eval_files, *used.config_files]
    checked: list[Hypothesis] = []
    diffs: dict[int, str] = {}
    present: list[int] = []
    for hypothesis in hypotheses:
        if not hypothesis.edits and hypothesis.problems:
            checked.append(hypothesis.model_copy(update={"valid": False}))
            continue
        run = dry_run(hypothesis, settings, allowed, allow_dirty=allow_dirty)
        problems = (*hypothesis.problems, *run.problems)
        diffs[hypothesis.rank] = run.diff
        present.extend([hypothesis.rank] if run.already_applied else [])
        checked.append(hypothesis.model_copy(update={"valid": not problems, "problems": problems}))
    return tuple(checked), diffs, tuple(present)
