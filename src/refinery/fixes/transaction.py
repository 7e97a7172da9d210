"""One apply or undo as a transaction: journal, write, commit, index, record; or nothing at all.

``run`` writes the journal first, then the files (all or nothing), moves HEAD with a
compare-and-swap, points the index at the new blobs and records the change; the journal goes last.
Whatever stops it (an error, Ctrl-C, a killed process, a full disk) is settled by ``recover``, in
the same process or in the next Refinery command: if HEAD reached the new commit the change is
completed (files, index, record), otherwise every file that holds the new bytes gets its old bytes
back. Recovery only touches a file or an index entry that is exactly as Refinery left it, so work
the user did since is never overwritten.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ..atomic import sweep_temporaries
from ..config import Settings
from ..errors import ApplyRefused, RefineryError
from ..store import changes as store
from ..store.paths import ensure_state_dir
from . import git
from .journal import (
    IndexEntry,
    Journal,
    Operation,
    begin,
    finish,
    pending,
    saved_bytes,
    sha256_of,
)
from .write import FileWrite, apply_lock, clear_temp_dir, temp_dir, write_files

_INDEX_ATTEMPTS = 5
_INDEX_PAUSE = 0.05


class Outcome(Enum):
    """How an interrupted operation was settled."""

    COMPLETED = "completed"
    ROLLED_BACK = "rolled back"


@dataclass(frozen=True, kw_only=True)
class Where:
    """The repository an operation runs in."""

    top: Path
    """git's top level."""
    root: Path
    """The repository root Refinery works in (paths in the journal are relative to it)."""
    state_dir: Path
    """``.refinery/``."""


@contextmanager
def locked(settings: Settings) -> Iterator[Where]:
    """The repository, under the apply lock, with any interrupted operation settled first.

    git and disk failures before anything is journalled read as "nothing was written".
    """
    root = settings.repo_root.resolve()
    with nothing_written(settings.state_dir):
        top = git.toplevel(root)
        git.check_identity(top)
        ensure_state_dir(settings)
        where = Where(top=top, root=root, state_dir=settings.state_dir)
        with apply_lock(settings.state_dir):
            settle_pending(where)
            yield where


@contextmanager
def nothing_written(state_dir: Path) -> Iterator[None]:
    """Say that nothing was written when git or the disk fails before the journal exists."""
    try:
        yield
    except git.GitError as exc:
        hint = f"nothing was written; {exc.hint}" if exc.hint else "nothing was written"
        raise ApplyRefused(exc.message, hint) from exc
    except OSError as exc:
        raise ApplyRefused(
            f"cannot write Refinery's state in {state_dir}: {exc.strerror or exc}",
            "nothing was written: make that folder writable or free some space, then retry",
        ) from exc


def run(
    where: Where, journal: Journal, before: Sequence[bytes | None], after: Sequence[bytes | None]
) -> None:
    """Carry out ``journal``; on failure settle it and raise one line saying the outcome."""
    begin(where.state_dir, journal, before, after)
    try:
        _perform(where, journal, before, after)
    except BaseException as exc:  # Ctrl-C too: settle first, so nothing is left half done
        settled = _settle(where, journal, exc)
        if settled is not None:
            raise settled from exc


def _perform(
    where: Where, journal: Journal, before: Sequence[bytes | None], after: Sequence[bytes | None]
) -> None:
    writes = [
        FileWrite(path=where.root / file.path, data=new, before=old)
        for file, old, new in zip(journal.files, before, after, strict=True)
    ]
    write_files(writes, staging=temp_dir(where.state_dir))
    git.advance_head(where.top, journal.commit, journal.head, f"refinery: {journal.operation}")
    _update_index(where.top, journal)
    _record(where.state_dir, journal, before)


def _settle(where: Where, journal: Journal, exc: BaseException) -> ApplyRefused | None:
    """Recover after ``exc``; None when that completed the change, else the error to raise."""
    reason = _reason(exc)
    try:
        outcome = recover(where, journal)
    except (OSError, RefineryError) as again:
        cause = _reason(again)
        return ApplyRefused(f"{reason}; {_stuck(where, journal, '' if cause == reason else cause)}")
    if outcome is Outcome.COMPLETED:
        return None
    return ApplyRefused(reason, "nothing was changed: every file is as it was")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RefineryError):
        return exc.message
    if isinstance(exc, OSError):
        return f"cannot finish: {exc.strerror or exc}"
    return f"interrupted ({type(exc).__name__})"


def _stuck(where: Where, journal: Journal, cause: str) -> str:
    """Where things stand when recovery failed too, and what the user does next."""
    because = f" ({cause})" if cause else ""
    try:
        head: str | None = git.head(where.top)
    except RefineryError:
        return (
            f"the change could not be settled{because}: run any refinery command once git works "
            "again and it will finish it or put the files back"
        )
    if head == journal.commit:
        return (
            f"the change is committed as {journal.commit[:12]} but not finished{because}: "
            "run any refinery command once the cause is gone and it will finish it"
        )
    return (
        f"the files could not all be put back{because}: run any refinery command once the "
        "cause is gone and it will restore them"
    )


def recover(where: Where, journal: Journal) -> Outcome:
    """Complete ``journal`` if its commit was reached, else roll it back; hold the apply lock."""
    head = git.head(where.top)
    reached = head is not None and (
        head == journal.commit or git.is_ancestor(where.top, journal.commit, head)
    )
    if reached:
        if head == journal.commit:  # else the user committed on top: files and index are theirs
            _put(where, journal, forward=True)
            _update_index(where.top, journal)
        befores = [saved_bytes(where.state_dir, "before", i) for i in range(len(journal.files))]
        clear_temp_dir(where.state_dir)
        _record(where.state_dir, journal, befores)
        return Outcome.COMPLETED
    _put(where, journal, forward=False)
    clear_temp_dir(where.state_dir)
    finish(where.state_dir)
    return Outcome.ROLLED_BACK


def _put(where: Where, journal: Journal, *, forward: bool) -> None:
    """Move every file that holds exactly one side's bytes to the other side's bytes."""
    writes: list[FileWrite] = []
    for index, file in enumerate(journal.files):
        found, wanted = (file.sha256_before, file.sha256_after)[:: 1 if forward else -1]
        target = where.root / file.path
        current = target.read_bytes() if target.is_file() else None
        if found == wanted or sha256_of(current) != found:
            continue  # nothing to do, or the user's own bytes: leave them
        data = saved_bytes(where.state_dir, "after" if forward else "before", index)
        writes.append(FileWrite(path=target, data=data, before=current))
    if writes:
        write_files(writes, staging=temp_dir(where.state_dir))


def _update_index(top: Path, journal: Journal) -> None:
    """Point the index at the commit's blobs where it still holds what it held before.

    A lock held for a moment by an editor's ``git status`` is waited out briefly.
    """
    for attempt in range(_INDEX_ATTEMPTS):
        try:
            _set_index(top, journal)
            return
        except git.GitError:
            if attempt == _INDEX_ATTEMPTS - 1 or git.index_lock(top) is None:
                raise
            time.sleep(_INDEX_PAUSE)


def _set_index(top: Path, journal: Journal) -> None:
    entries: dict[str, git.Entry | None] = {}
    for file in journal.files:
        current = _entry(git.index_entry(top, file.git_path))
        if current == file.index_before and current != file.index_after:
            after = file.index_after
            entries[file.git_path] = git.Entry(mode=after.mode, sha=after.sha) if after else None
    git.set_index(top, entries, journal.commit)


def _entry(entry: git.Entry | None) -> IndexEntry | None:
    return IndexEntry(mode=entry.mode, sha=entry.sha) if entry else None


def _record(state_dir: Path, journal: Journal, before: Sequence[bytes | None]) -> None:
    """Keep the change record (and the bytes undo restores), then close the journal."""
    kept = {
        file.path: data
        for file, data in zip(journal.files, before, strict=True)
        if data is not None and journal.keep_before
    }
    store.record_change(state_dir, journal.change, kept if journal.keep_before else None)
    finish(state_dir)


def recover_pending(settings: Settings) -> str | None:
    """Settle an operation a crash interrupted; one line saying what was done, or None."""
    state_dir = settings.state_dir
    if pending(state_dir) is None:
        sweep_temporaries(state_dir)
        return None
    root = settings.repo_root.resolve()
    where = Where(top=git.toplevel(root), root=root, state_dir=state_dir)
    with apply_lock(state_dir):
        return settle_pending(where)


def settle_pending(where: Where) -> str | None:
    """``recover_pending`` for a caller that already holds the apply lock."""
    journal = pending(where.state_dir)  # another process may have settled it meanwhile
    if journal is None:
        return None
    try:
        outcome = recover(where, journal)
    except (OSError, RefineryError) as exc:
        raise ApplyRefused(
            f"found an interrupted {_what(journal)} but cannot settle it yet: {_reason(exc)}",
            "run the command again once that is resolved; nothing else was changed",
        ) from exc
    sweep_temporaries(where.state_dir)
    return describe(journal, outcome)


def _what(journal: Journal) -> str:
    change = journal.change
    if journal.operation is Operation.APPLY:
        return f"apply of fix #{change.hypothesis_rank} ({change.hypothesis_title})"
    return f"undo of change {change.id}"


def describe(journal: Journal, outcome: Outcome) -> str:
    """One line for the user about a settled operation."""
    change = journal.change
    what = _what(journal)
    if outcome is Outcome.ROLLED_BACK:
        return f"found an interrupted {what} and rolled it back: every file is as it was before"
    if journal.operation is Operation.APPLY:
        return (
            f"found an interrupted {what} and completed it: commit {journal.commit[:12]}; "
            f"undo it with `refinery undo {change.id}`"
        )
    return f"found an interrupted {what} and completed it: revert commit {journal.commit[:12]}"
