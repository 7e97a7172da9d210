"""Applying a hypothesis: ``dry_run``, ``apply_change`` and ``apply_ranked``.

Everything happens under ``.refinery/apply.lock``, from choosing the fix to the end of its commit:
the fix is planned against the files as they are under the lock (so two concurrent applies cannot
both add the same rule), a fix whose text is already there is reported as applied and nothing is
written, and the change itself runs as a journalled transaction (``transaction.py``) that a crash
leaves either undone or complete. ``--apply`` without N takes the best-ranked fix; it falls back to
a lower rank only when the better ones are invalid in themselves, never because the user's own
state (uncommitted changes, a held git lock) blocks them: that is the user's call.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..config import Settings
from ..errors import AlreadyApplied, ApplyRefused, InputError
from ..models.change import Change, ChangedFile, SkippedFix
from ..models.diagnosis import Hypothesis
from ..redaction import redact_texts
from . import git, transaction
from .edits import PreparedFile, render_diff
from .journal import IndexEntry, Journal, JournalFile, Operation, sha256_of
from .plan import Plan, make_plan
from .undo import undo
from .validate import DEFAULT_MAX_BYTES

__all__ = [
    "ApplyOutcome",
    "DryRun",
    "apply_change",
    "apply_ranked",
    "check_can_commit",
    "dry_run",
    "undo",
]


@dataclass(frozen=True, kw_only=True)
class DryRun:
    """What applying a hypothesis would do, without doing it."""

    diff: str
    """Unified diff of every file that would change."""
    problems: tuple[str, ...]
    """Why applying would be refused, one line each; empty when it would apply."""
    notes: tuple[str, ...]
    """Things to know, such as a whitespace-tolerant match."""
    files: tuple[str, ...]
    """The files that would change."""
    blockers: tuple[str, ...] = ()
    """Those of ``problems`` that come from the user's own state (uncommitted changes...)."""
    already_applied: bool = False
    """True when the files already hold the fix: applying writes nothing."""

    @property
    def valid(self) -> bool:
        """True when applying would not be refused."""
        return not self.problems


@dataclass(frozen=True, kw_only=True)
class ApplyOutcome:
    """What ``apply_ranked`` did."""

    rank: int
    """The fix chosen."""
    change: Change | None
    """The change written; None when the fix was already applied (nothing written)."""
    skipped: tuple[SkippedFix, ...] = ()
    """Better-ranked fixes passed over because they are invalid in themselves."""


@dataclass(frozen=True, kw_only=True)
class _Request:
    analysis_id: str
    expected: str
    allowed_files: Collection[str] | None
    allow_dirty: bool
    max_bytes: int


def check_can_commit(settings: Settings) -> None:
    """Refuse before anything is written when no commit could be made: no repository, no identity.

    Raises:
        ApplyRefused: not a git repository (exit 1).
        ConfigError: git has no user name or email (exit 2).
    """
    git.check_identity(git.toplevel(settings.repo_root.resolve()))


def dry_run(
    hypothesis: Hypothesis,
    settings: Settings,
    allowed_files: Collection[str] | None,
    *,
    allow_dirty: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> DryRun:
    """The diff, problems and notes of applying ``hypothesis``; nothing is written."""
    with transaction.nothing_written(settings.state_dir):
        plan = make_plan(
            hypothesis,
            settings.repo_root,
            allowed_files,
            allow_dirty=allow_dirty,
            max_bytes=max_bytes,
        )
    return DryRun(
        diff=render_diff(plan.prepared),
        problems=plan.all_problems,
        notes=plan.prepared.notes,
        files=tuple(file.path for file in plan.prepared.files),
        blockers=plan.blockers,
        already_applied=plan.already_applied,
    )


def apply_change(
    hypothesis: Hypothesis,
    *,
    analysis_id: str,
    expected: str,
    settings: Settings,
    allowed_files: Collection[str],
    allow_dirty: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Change:
    """Apply ``hypothesis`` as one git commit, all or nothing; ApplyRefused names every problem.

    Raises:
        AlreadyApplied: its files already hold the fix; nothing was written (exit code 0).
    """
    outcome = apply_ranked(
        [hypothesis],
        hypothesis.rank,
        analysis_id=analysis_id,
        expected=expected,
        settings=settings,
        allowed_files=allowed_files,
        allow_dirty=allow_dirty,
        max_bytes=max_bytes,
    )
    if outcome.change is None:
        raise AlreadyApplied(
            f"fix {hypothesis.rank} ({hypothesis.title}) is already applied: "
            "its text is already in its files, nothing was written"
        )
    return outcome.change


def apply_ranked(
    hypotheses: Sequence[Hypothesis],
    rank: int | None,
    *,
    analysis_id: str,
    expected: str,
    settings: Settings,
    allowed_files: Collection[str] | None,
    allow_dirty: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ApplyOutcome:
    """Apply fix ``rank``, or (None) the best fix that is valid in itself, as one git commit.

    Raises:
        ApplyRefused: the fix is invalid or blocked by the repository's state; nothing written.
        ConfigError: git has no user name or email to commit with; nothing written.
    """
    request = _Request(
        analysis_id=analysis_id,
        expected=expected,
        allowed_files=allowed_files,
        allow_dirty=allow_dirty,
        max_bytes=max_bytes,
    )
    with transaction.locked(settings) as where:
        chosen, plan, skipped = _choose(hypotheses, rank, where.root, request)
        change = None if plan.already_applied else _commit_plan(where, chosen, plan, request)
    return ApplyOutcome(rank=chosen.rank, change=change, skipped=skipped)


def _choose(
    hypotheses: Sequence[Hypothesis], rank: int | None, root: Path, request: _Request
) -> tuple[Hypothesis, Plan, tuple[SkippedFix, ...]]:
    """The fix to apply and its plan, made under the lock; refuses as SPEC §5 says."""
    if rank is not None:
        chosen = _by_rank(hypotheses, rank)
        plan = _plan(chosen, root, request)
        if plan.all_problems:
            raise ApplyRefused(f"cannot apply {_name(chosen)}: " + "; ".join(plan.all_problems))
        return chosen, plan, ()
    skipped: list[SkippedFix] = []
    for hypothesis in sorted(hypotheses, key=lambda h: h.rank):
        plan = _plan(hypothesis, root, request)
        if plan.problems:
            # a fix without edits says best, in the analyser's words, why it has none
            reasons = plan.problems if hypothesis.edits else hypothesis.problems or plan.problems
            skipped.append(SkippedFix(rank=hypothesis.rank, title=hypothesis.title,
                                      reasons=reasons))  # fmt: skip
        elif plan.blockers:
            raise ApplyRefused(
                f"{_name(hypothesis)}, the best fix, cannot be applied now: "
                + "; ".join(plan.blockers),
                "nothing was written (to apply another fix instead, use --apply N)",
            )
        else:
            return hypothesis, plan, tuple(skipped)
    raise ApplyRefused(
        "no fix can be applied: " + "; ".join(f"fix {s.rank}: {s.reasons[0]}" for s in skipped),
        "run without --apply to see each fix's problems",
    )


def _plan(hypothesis: Hypothesis, root: Path, request: _Request) -> Plan:
    return make_plan(
        hypothesis,
        root,
        request.allowed_files,
        allow_dirty=request.allow_dirty,
        max_bytes=request.max_bytes,
    )


def _by_rank(hypotheses: Sequence[Hypothesis], rank: int) -> Hypothesis:
    for hypothesis in hypotheses:
        if hypothesis.rank == rank:
            return hypothesis
    raise InputError(f"there is no fix {rank}", f"choose 1-{len(hypotheses)} or use --apply alone")


def _name(hypothesis: Hypothesis) -> str:
    return f"fix {hypothesis.rank} ({hypothesis.title})"


def _commit_plan(
    where: transaction.Where, hypothesis: Hypothesis, plan: Plan, request: _Request
) -> Change:
    """Build the commit, then run the journalled transaction that writes it."""
    top, head = where.top, plan.head
    if head is None or plan.commit_files is None:
        raise ApplyRefused(f"cannot apply {_name(hypothesis)}: git repository unavailable")
    change_id = _new_change_id()
    message = _message(hypothesis, request.analysis_id, request.expected, change_id)
    committed = _blobs(top, plan.commit_files)
    index = {**committed, **_blobs(top, plan.index_files or {})}
    commit = git.create_commit(top, head, dict[str, git.Entry | None](committed), message)
    files = plan.prepared.files
    change = Change(
        id=change_id,
        analysis_id=request.analysis_id,
        hypothesis_rank=hypothesis.rank,
        hypothesis_title=hypothesis.title,
        expected=request.expected,
        files=tuple(_changed(file) for file in files),
        commit=commit,
        created_at=datetime.now(UTC),
        undo_command=f"refinery undo {change_id}",
    )
    journal = Journal(
        operation=Operation.APPLY,
        change=change,
        head=head,
        commit=commit,
        files=tuple(_journal_file(where, file, index) for file in files),
        keep_before=True,
    )
    transaction.run(where, journal, [f.before for f in files], [f.after for f in files])
    return change


def _blobs(top: Path, files: dict[str, tuple[str, bytes]]) -> dict[str, git.Entry]:
    return {
        path: git.Entry(mode=mode, sha=git.write_blob(top, data))
        for path, (mode, data) in files.items()
    }


def _journal_file(
    where: transaction.Where, file: PreparedFile, index: dict[str, git.Entry]
) -> JournalFile:
    gpath = (where.root / file.path).relative_to(where.top).as_posix()
    current = git.index_entry(where.top, gpath)
    after = index[gpath]
    return JournalFile(
        path=file.path,
        git_path=gpath,
        sha256_before=sha256_of(file.before),
        sha256_after=sha256_of(file.after),
        index_before=IndexEntry(mode=current.mode, sha=current.sha) if current else None,
        index_after=IndexEntry(mode=after.mode, sha=after.sha),
    )


def _changed(file: PreparedFile) -> ChangedFile:
    after = sha256_of(file.after) or ""
    return ChangedFile(path=file.path, sha256_before=sha256_of(file.before), sha256_after=after)


def _new_change_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def _one_line(text: str) -> str:
    """Collapse whitespace so that user text cannot forge trailers in the commit message."""
    return " ".join(text.split())


def _message(hypothesis: Hypothesis, analysis_id: str, expected: str, change_id: str) -> str:
    """The commit message; its texts are redacted, as a title may quote the trace."""
    title, expected = (_one_line(t) for t in redact_texts([hypothesis.title, expected]))
    return (
        f"Refinery: {title}\n\n"
        f"Analysis: {_one_line(analysis_id)}\n"
        f"Hypothesis: #{hypothesis.rank} {title}\n"
        f"Expected: {expected}\n\n"
        f"{git.CHANGE_TRAILER}: {change_id}\n"
    )
