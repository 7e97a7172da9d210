"""The journal: what an apply or undo is about to do, written down before it does any of it.

An apply (or undo) is several steps that cannot be made one atomic operation: rename each file,
move HEAD, update the index, record the change. So before the first step Refinery writes
``.refinery/journal/``: every file's bytes before and after, their hashes, the index entries, the
commit HEAD will move to and the change record to keep. ``journal.json`` is written last, so the
journal exists only once it is complete; it is removed once everything is done. Whoever finds it
later (the next Refinery command, after a crash) knows exactly what to finish or to take back:
that is ``transaction.recover``.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from ..atomic import write_atomic
from ..errors import ConfigError
from ..models.change import Change

JOURNAL_DIR = "journal"
_JOURNAL_FILE = "journal.json"
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Operation(StrEnum):
    """What the journal records."""

    APPLY = "apply"
    UNDO = "undo"


class IndexEntry(BaseModel):
    """A file as git's index holds it."""

    model_config = _FROZEN

    mode: str
    """``100644``, ``100755`` or ``120000``."""
    sha: str
    """The blob's object id."""


class JournalFile(BaseModel):
    """One file the operation writes."""

    model_config = _FROZEN

    path: str
    """Relative to the repository root."""
    git_path: str
    """Relative to git's top level."""
    sha256_before: str | None
    """The bytes' hash before; None when the file did not exist."""
    sha256_after: str | None
    """The bytes' hash after; None when the operation deletes the file."""
    index_before: IndexEntry | None
    """The index entry before (None: not in the index)."""
    index_after: IndexEntry | None
    """The index entry after the commit (None: removed from the index)."""


class Journal(BaseModel):
    """An apply or undo in progress."""

    model_config = _FROZEN

    operation: Operation
    """Apply or undo."""
    change: Change
    """The record to keep once done (for an undo: the change marked undone)."""
    head: str
    """The commit HEAD pointed to before."""
    commit: str
    """The commit HEAD moves to."""
    files: tuple[JournalFile, ...]
    """The files written, in order."""
    keep_before: bool
    """True when the files' previous bytes are kept beside the change record (for undo)."""


def sha256_of(data: bytes | None) -> str | None:
    """Hex sha256 of ``data`` as journals and change records store it; None for no file."""
    return hashlib.sha256(data).hexdigest() if data is not None else None


def journal_dir(state_dir: Path) -> Path:
    """``.refinery/journal/``."""
    return state_dir / JOURNAL_DIR


def begin(
    state_dir: Path,
    journal: Journal,
    before: Sequence[bytes | None],
    after: Sequence[bytes | None],
) -> None:
    """Write the journal: every file's bytes first, ``journal.json`` last."""
    folder = journal_dir(state_dir)
    shutil.rmtree(folder, ignore_errors=True)
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        if old is not None:
            write_atomic(folder / "before" / str(index), old)
        if new is not None:
            write_atomic(folder / "after" / str(index), new)
    write_atomic(folder / _JOURNAL_FILE, journal.model_dump_json(indent=2).encode())


def pending(state_dir: Path) -> Journal | None:
    """The unfinished journal, or None when there is none."""
    path = journal_dir(state_dir) / _JOURNAL_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", "check its permissions") from exc
    try:
        return Journal.model_validate_json(data)
    except ValidationError as exc:
        raise ConfigError(
            f"the journal {path} of an interrupted apply is damaged ({exc.errors()[0]['msg']})",
            "check `git status` and `git log -1`, then delete the journal folder",
        ) from exc


def saved_bytes(state_dir: Path, side: str, index: int) -> bytes | None:
    """The bytes file ``index`` had ``before`` or will have ``after``; None for no file."""
    path = journal_dir(state_dir) / side / str(index)
    return path.read_bytes() if path.is_file() else None


def finish(state_dir: Path) -> None:
    """Mark the operation done: ``journal.json`` goes first, then the saved bytes."""
    folder = journal_dir(state_dir)
    (folder / _JOURNAL_FILE).unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
