"""Saved analyses: keep each one, show it again, apply exactly the fix that was shown, undo it.

``analyze`` saves its ``AnalysisResult`` (``store.analyses``: a JSON file plus index rows) and a
snapshot of each context file as analysed. ``apply_saved`` applies hypothesis N of a saved analysis
with the edits that were shown, never a new analysis' answer; the files are checked first against
the hashes the analysis recorded: a file changed since is refused with what changed, unless every
edit still matches it exactly once, and then the result says so. Applied changes and undos are
indexed for ``history``. Other records about an analysis (a verification) sit beside it.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel

from ..config import Settings
from ..errors import ApplyRefused, InputError
from ..models.change import Change
from ..models.diagnosis import Hypothesis
from ..progress import OnProgress, ProgressEvent, no_progress
from ..store import analyses as store
from ..store.history import History, HistoryQuery, read_history
from .result import AnalysisResult, AppliedRef

_Record = TypeVar("_Record", bound=BaseModel)


@dataclass(frozen=True, kw_only=True)
class AppliedSaved:
    """What ``apply_saved`` did."""

    analysis: AnalysisResult
    """The saved analysis the fix came from."""
    change: Change
    """The change written."""
    notes: tuple[str, ...] = ()
    """Files that changed since the analysis, and why the edits were still applied to them."""


def save_analysis(
    settings: Settings, result: AnalysisResult, snapshots: Mapping[str, bytes] | None = None
) -> AnalysisResult:
    """Save ``result`` (new or updated) and the context files' bytes as analysed."""
    for data in (snapshots or {}).values():
        store.save_snapshot(settings.state_dir, data)
    store.save_analysis(settings.state_dir, result.model_dump_json(indent=1).encode("utf-8"))
    return result


def load_analysis(
    settings: Settings, id_or_prefix: str | None = None, *, project: str | None = None
) -> AnalysisResult:
    """The saved analysis named by its id or unique prefix; None: the latest (of ``project``)."""
    analysis_id = store.resolve_analysis_id(settings.state_dir, id_or_prefix, project=project)
    document = store.read_analysis(settings.state_dir, analysis_id)
    try:
        return AnalysisResult.model_validate_json(document)
    except ValueError as exc:
        raise InputError(
            f"cannot read saved analysis {analysis_id}: {str(exc).splitlines()[0]}",
            "run refinery analyze again",
        ) from exc


def save_attachment(settings: Settings, analysis_id: str, name: str, record: BaseModel) -> None:
    """Keep ``record`` beside a saved analysis as ``.refinery/analyses/<id>/<name>.json``."""
    document = record.model_dump_json(indent=1).encode("utf-8")
    store.save_attachment(settings.state_dir, analysis_id, name, document)


def load_attachment(
    settings: Settings, analysis_id: str, name: str, model: type[_Record]
) -> _Record | None:
    """Record ``name`` of a saved analysis as ``model``, or None when it has none."""
    document = store.read_attachment(settings.state_dir, analysis_id, name)
    return None if document is None else model.model_validate_json(document)


def history(settings: Settings, query: HistoryQuery | None = None) -> History:
    """Saved analyses and applied changes, newest first."""
    return read_history(settings.state_dir, query or HistoryQuery())


def apply_saved(
    settings: Settings,
    id_or_prefix: str | None,
    rank: int,
    *,
    project: str | None = None,
    allow_dirty: bool = False,
) -> AppliedSaved:
    """Apply hypothesis ``rank`` of a saved analysis: the edits it showed, checked against now."""
    result = load_analysis(settings, id_or_prefix, project=project)
    hypothesis = _pick(result.hypotheses, rank, or_best=False)
    notes = _revalidate(settings, result, hypothesis, allow_dirty)
    change = _apply(settings, result, hypothesis, allow_dirty)
    return AppliedSaved(analysis=result, change=change, notes=notes)


def apply_analysis(
    result: AnalysisResult,
    rank: int,
    settings: Settings,
    *,
    allow_dirty: bool = False,
    on_progress: OnProgress = no_progress,
) -> AnalysisResult:
    """``analyze --apply [N]``: apply a fresh analysis' fix N (0 = the best one).

    The fix is chosen and checked again under the apply lock (``fixes.apply.apply_ranked``): the
    best fix blocked by the user's own changes is refused, never swapped for another.
    """
    from ..fixes.apply import apply_ranked

    which = f"fix {rank}" if rank else "the best fix"
    on_progress(ProgressEvent(stage="apply", message=f"applying {which}"))
    context = result.context
    outcome = apply_ranked(
        result.hypotheses,
        rank or None,
        analysis_id=result.analysis_id,
        expected=result.expected,
        settings=settings,
        allowed_files=[*context.prompt_files, *context.eval_files, *context.config_files],
        allow_dirty=allow_dirty,
    )
    if outcome.change is None:
        update = {"already_applied": outcome.rank, "skipped": outcome.skipped}
        return save_analysis(settings, result.model_copy(update=update))
    store.record_change(settings.state_dir, outcome.change)
    applied = AppliedRef(
        change_id=outcome.change.id,
        commit=outcome.change.commit,
        files=tuple(f.path for f in outcome.change.files),
        hypothesis=outcome.rank,
    )
    update = {"applied": applied, "skipped": outcome.skipped}
    return save_analysis(settings, result.model_copy(update=update))


def undo_change(settings: Settings, change_id: str | None) -> Change:
    """``refinery undo``: revert Refinery's last (or the named) change and record the undo."""
    from ..fixes.apply import undo

    change = undo(change_id, settings)
    store.record_change(settings.state_dir, change)
    return change


def _apply(
    settings: Settings, result: AnalysisResult, hypothesis: Hypothesis, allow_dirty: bool
) -> Change:
    from ..fixes.apply import apply_change

    context = result.context
    change = apply_change(
        hypothesis,
        analysis_id=result.analysis_id,
        expected=result.expected,
        settings=settings,
        allowed_files=[*context.prompt_files, *context.eval_files, *context.config_files],
        allow_dirty=allow_dirty,
    )
    store.record_change(settings.state_dir, change)
    return change


def _revalidate(
    settings: Settings, result: AnalysisResult, hypothesis: Hypothesis, allow_dirty: bool
) -> tuple[str, ...]:
    """Notes on files changed since the analysis; ApplyRefused when an edit no longer fits."""
    from ..fixes.apply import dry_run

    changed = _changed_files(settings, result, hypothesis)
    if not changed:
        return ()
    context = result.context
    allowed = [*context.prompt_files, *context.eval_files, *context.config_files]
    run = dry_run(hypothesis, settings, allowed, allow_dirty=allow_dirty)
    what = "; ".join(f"{path} changed since the analysis ({how})" for path, how in changed)
    problems = [*run.problems, *(f"{n} (not an exact match)" for n in run.notes)]
    if problems:
        raise ApplyRefused(
            f"cannot apply fix {hypothesis.rank} of {result.analysis_id}: {what}, and the fix no "
            f"longer fits: {'; '.join(problems)}",
            f"run refinery analyze again (project {result.project})",
        )
    return tuple(
        f"{path} changed since the analysis ({how}); fix {hypothesis.rank}'s edits still match "
        "it exactly once, so they were applied to the file as it is now"
        for path, how in changed
    )


def _changed_files(
    settings: Settings, result: AnalysisResult, hypothesis: Hypothesis
) -> list[tuple[str, str]]:
    """(path, what changed) for each edited file whose bytes differ from when it was analysed."""
    changed: list[tuple[str, str]] = []
    for path in sorted({edit.file for edit in hypothesis.edits}):
        then = result.file_sha256.get(path)
        if then is None:
            continue
        target = settings.repo_root / path
        now = target.read_bytes() if target.is_file() else None
        if now is None:
            changed.append((path, "deleted"))
        elif hashlib.sha256(now).hexdigest() != then:
            before = store.read_snapshot(settings.state_dir, then)
            changed.append((path, describe_change(before, now)))
    return changed


def describe_change(before: bytes | None, after: bytes) -> str:
    """One phrase saying where and how a file's text changed."""
    if before is None:
        return "its earlier content was not kept"
    old = before.decode("utf-8", errors="replace").splitlines()
    new = after.decode("utf-8", errors="replace").splitlines()
    hunks = [op for op in difflib.SequenceMatcher(None, old, new).get_opcodes() if op[0] != "equal"]
    if not hunks:
        return "only line endings changed"
    tag, i1, i2, j1, j2 = hunks[0]
    where = f"line {i1 + 1}" if i2 - i1 <= 1 else f"lines {i1 + 1}-{i2}"
    was = _clip(" ".join(old[i1:i2])) if i2 > i1 else ""
    now = _clip(" ".join(new[j1:j2])) if j2 > j1 else ""
    how = {"replace": f"{was!r} became {now!r}", "delete": f"{was!r} removed"}.get(
        tag, f"{now!r} added"
    )
    more = f", and {len(hunks) - 1} more place(s)" if len(hunks) > 1 else ""
    return f"{where}: {how}{more}"


def _clip(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _pick(hypotheses: Sequence[Hypothesis], rank: int, *, or_best: bool = True) -> Hypothesis:
    for hypothesis in hypotheses:
        if hypothesis.rank == rank:
            return hypothesis
    alone = " or use --apply alone" if or_best else ""
    raise InputError(f"there is no fix {rank}", f"choose 1-{len(hypotheses)}{alone}")
