"""The analysis pipeline: ingest → detect → condense → diagnose and hypothesise → validate → apply.

``analyze`` is the one library function behind ``refinery analyze``; it returns an
``AnalysisResult``, the object ``--json`` prints. Each stage lives in its own package; this module
only sequences them and reports progress.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from .analysis.analyser import Analyser, AnalyserInput, ContextFile, FileRole, Usage
from .analysis.findings import DetectorInput, Finding
from .config import DEFAULT_BUDGET, Settings
from .errors import InputError
from .gcpause import paused_gc
from .models.diagnosis import Diagnosis, Hypothesis
from .progress import OnProgress, ProgressEvent, no_progress
from .store.context_file import ContextFiles
from .store.paths import ensure_state_dir
from .traces.model import Trace, TraceRef
from .traces.sources import load_trace

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AnalyserRef(BaseModel):
    """Which analyser produced the diagnosis."""

    model_config = _FROZEN

    provider: str
    """``offline`` or the LLM provider."""
    model: str | None = None
    """The LLM model; None offline."""
    prompt_version: str | None = None
    """Version of Refinery's own prompts; None offline."""


class AppliedRef(BaseModel):
    """The change written by ``--apply``."""

    model_config = _FROZEN

    change_id: str
    """Id for ``refinery undo``."""
    commit: str
    """The git commit holding the change."""
    files: tuple[str, ...]
    """Files changed."""
    hypothesis: int
    """Rank of the applied hypothesis."""


class AnalysisResult(BaseModel):
    """Everything one analysis produced: the ``--json`` contract of SPEC §5."""

    model_config = _FROZEN

    analysis_id: str
    """Unique id of this analysis."""
    project: str
    """The project name."""
    expected: str
    """The expected behaviour, as given."""
    trace: TraceRef
    """The trace analysed."""
    context: ContextFiles
    """The files used."""
    analyser: AnalyserRef
    """Who diagnosed."""
    findings: tuple[Finding, ...]
    """Detector findings."""
    diagnosis: Diagnosis
    """The diagnosis."""
    hypotheses: tuple[Hypothesis, ...]
    """Ranked fixes with their validation."""
    diffs: dict[int, str] = {}
    """Unified diff of each hypothesis' edits, by rank (what ``--apply N`` would write)."""
    applied: AppliedRef | None = None
    """The applied change, when ``--apply`` succeeded."""
    usage: Usage = Usage()
    """LLM usage and cost."""
    warnings: tuple[str, ...] = ()
    """Things the user should know (missing files dropped, budget exceeded...)."""


@dataclass(frozen=True, kw_only=True)
class ContextRequest:
    """Context flags of ``analyze``; empty means reuse what the project saved."""

    prompt_files: Sequence[str] = ()
    eval_files: Sequence[str] = ()
    config_files: Sequence[str] = ()
    add_prompts: Sequence[str] = ()
    add_evals: Sequence[str] = ()
    remove_prompts: Sequence[str] = ()
    remove_evals: Sequence[str] = ()
    update: bool = False
    extract_from_trace: bool = False
    cwd: Path | None = None
    """What relative paths are relative to; the repository root when None."""


@dataclass(frozen=True, kw_only=True)
class AnalyzeOptions:
    """How to analyse."""

    budget: int = DEFAULT_BUDGET
    """Token budget for the condensed trace."""
    source: str | None = None
    """Trace source override (``file``, ``langsmith``, ``langfuse``)."""
    apply: int | None = None
    """Apply this hypothesis rank (0 = the best valid one); None = dry run."""
    allow_dirty: bool = False
    """Apply even when target files have uncommitted changes."""
    context: ContextRequest = field(default_factory=ContextRequest)
    """Which project files to use."""


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
    """Diagnose a failing trace against the expected behaviour; propose (or apply) fixes."""
    options = options or AnalyzeOptions()
    if not expected.strip():
        raise InputError("--expected is empty", "say in one line what the agent should have done")
    trace = _load(trace_ref, settings, options, on_progress)
    ensure_state_dir(settings)
    used, warnings = _resolve_context(settings, project, trace, expected, options.context)
    files = _read_files(settings, used)
    findings = _detect(trace, expected, files, on_progress)
    condensed = _condense(trace, findings, options.budget, on_progress)
    chosen = analyser or choose_analyser(settings)
    on_progress(ProgressEvent(stage="analyze", message=f"diagnosing with {chosen.name}"))
    output = chosen.analyse(
        AnalyserInput(
            trace=trace,
            expected=expected,
            findings=tuple(findings),
            condensed=condensed,
            files=files,
        )
    )
    diagnosis = _with_divergence(output.diagnosis, trace, findings)
    redacted = _redacted(output.hypotheses, trace, files)
    hypotheses, diffs = _validate(redacted, used, settings, options.allow_dirty)
    result = AnalysisResult(
        analysis_id=f"an_{uuid.uuid4().hex[:12]}",
        project=project,
        expected=expected,
        trace=trace.ref(),
        context=used,
        analyser=AnalyserRef(
            provider=chosen.name,
            model=chosen.model,
            prompt_version=getattr(chosen, "prompt_version", None),
        ),
        findings=tuple(findings),
        diagnosis=diagnosis,
        hypotheses=hypotheses,
        diffs=diffs,
        usage=output.usage,
        warnings=(*warnings, *getattr(chosen, "warnings", ())),
    )
    if options.apply is None:
        return result
    return _apply(result, options, settings, on_progress)


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
    from .store.context import resolve_context

    extracted = None
    if request.extract_from_trace:
        from .store.extract import extract_from_trace

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
    return ref, [*warnings, *resolved.warnings]


def _read_files(settings: Settings, used: ContextFiles) -> tuple[ContextFile, ...]:
    roles = (
        (FileRole.PROMPT, used.prompt_files),
        (FileRole.EVAL, used.eval_files),
        (FileRole.CONFIG, used.config_files),
    )
    files: list[ContextFile] = []
    for role, paths in roles:
        for path in paths:
            try:
                content = (settings.repo_root / path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read {path}: {exc}", "check the file") from exc
            files.append(ContextFile(path=path, role=role, content=content))
    return tuple(files)


def _detect(
    trace: Trace, expected: str, files: tuple[ContextFile, ...], on_progress: OnProgress
) -> list[Finding]:
    from .analysis.detectors import run_detectors

    on_progress(ProgressEvent(stage="detect", message=f"running detectors over {len(trace)} runs"))
    prompts = tuple((f.path, f.content) for f in files if f.role is FileRole.PROMPT)
    return run_detectors(DetectorInput(trace=trace, expected=expected, prompt_texts=prompts))


def _with_divergence(diagnosis: Diagnosis, trace: Trace, findings: list[Finding]) -> Diagnosis:
    """The diagnosis with the step where it went wrong, found from the trace when not given."""
    from .analysis.divergence import divergence_of, evidence_of, find_divergence

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
    from .analysis.condense import condense

    on_progress(ProgressEvent(stage="condense", message=f"condensing to {budget:,} tokens"))
    return condense(trace, findings, budget).text


def choose_analyser(settings: Settings) -> Analyser:
    """The LLM analyser configured by flags or keys, else the offline analyser."""
    from .analysis.offline import OfflineAnalyser
    from .llm.provider import detect_provider

    if settings.provider == "offline" or (
        settings.provider is None and not detect_provider(settings)
    ):
        return OfflineAnalyser()
    from .analysis.llm_analyst import llm_analyser

    return llm_analyser(settings)


def _redacted(
    hypotheses: Sequence[Hypothesis], trace: Trace, files: tuple[ContextFile, ...]
) -> tuple[Hypothesis, ...]:
    """Whoever wrote the hypotheses, no sensitive value of the trace is left in them."""
    from functools import cache

    from .redaction.hypotheses import redact_hypotheses

    @cache
    def dumped() -> str:
        return trace.model_dump_json()

    def in_trace(value: str) -> bool:
        return value in dumped() or json.dumps(value)[1:-1] in dumped()

    return redact_hypotheses(hypotheses, in_trace, {f.path: f.content for f in files})


def _validate(
    hypotheses: Sequence[Hypothesis], used: ContextFiles, settings: Settings, allow_dirty: bool
) -> tuple[tuple[Hypothesis, ...], dict[int, str]]:
    """Dry-run every hypothesis: its diff, and every reason ``--apply`` would refuse it."""
    from .fixes.apply import dry_run

    allowed = [*used.prompt_files, *used.eval_files, *used.config_files]
    checked: list[Hypothesis] = []
    diffs: dict[int, str] = {}
    for hypothesis in hypotheses:
        if not hypothesis.edits and hypothesis.problems:
            checked.append(hypothesis.model_copy(update={"valid": False}))
            continue
        run = dry_run(hypothesis, settings, allowed, allow_dirty=allow_dirty)
        problems = (*hypothesis.problems, *run.problems)
        diffs[hypothesis.rank] = run.diff
        checked.append(hypothesis.model_copy(update={"valid": not problems, "problems": problems}))
    return tuple(checked), diffs


def _apply(
    result: AnalysisResult, options: AnalyzeOptions, settings: Settings, on_progress: OnProgress
) -> AnalysisResult:
    from .errors import ApplyRefused
    from .fixes.apply import apply_change

    chosen = _pick(result.hypotheses, options.apply or 0)
    if not chosen.valid:
        raise ApplyRefused(
            f"hypothesis {chosen.rank} cannot be applied: {'; '.join(chosen.problems)}",
            "run without --apply to see each hypothesis' problems",
        )
    on_progress(ProgressEvent(stage="apply", message=f"applying hypothesis {chosen.rank}"))
    files = [*result.context.prompt_files, *result.context.eval_files, *result.context.config_files]
    change = apply_change(
        chosen,
        analysis_id=result.analysis_id,
        expected=result.expected,
        settings=settings,
        allowed_files=files,
        allow_dirty=options.allow_dirty,
    )
    applied = AppliedRef(
        change_id=change.id,
        commit=change.commit,
        files=tuple(f.path for f in change.files),
        hypothesis=chosen.rank,
    )
    return result.model_copy(update={"applied": applied})


def _pick(hypotheses: Sequence[Hypothesis], rank: int) -> Hypothesis:
    from .errors import ApplyRefused

    if rank == 0:
        for hypothesis in hypotheses:
            if hypothesis.valid:
                return hypothesis
        raise ApplyRefused("no hypothesis can be applied", "run without --apply to see why")
    for hypothesis in hypotheses:
        if hypothesis.rank == rank:
            return hypothesis
    raise InputError(
        f"there is no hypothesis {rank}", f"choose 1-{len(hypotheses)} or use --apply alone"
    )
