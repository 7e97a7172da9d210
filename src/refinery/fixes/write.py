"""Writing files safely: under a lock, each file atomically, all of them or none.

Every new content first goes to a temporary file under ``.refinery/tmp/`` (never in the user's
folders, so a killed process leaves nothing untracked beside their files; the journal's recovery
empties that folder), is fsynced and given the target's mode; only when all temporary files exist
are they renamed over their targets. Should ``.refinery/`` be on another file system than a target
(a rename cannot cross them), that one file is staged beside its target instead. If a rename
fails, the files already renamed get their previous bytes back, so a failed write leaves the
repository as it was. The bytes written are
exactly the bytes given: line endings and everything outside the edits are the caller's to keep.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..atomic import write_temporary
from ..errors import ApplyRefused

LOCK_NAME = "apply.lock"
TEMP_DIR = "tmp"
_NEW_FILE_MODE = 0o644


@dataclass(frozen=True, kw_only=True)
class FileWrite:
    """Replace ``path``'s content with ``data`` (None deletes it); ``before`` is what to restore."""

    path: Path
    """Absolute path of the target."""
    data: bytes | None
    """The new bytes; None removes the file."""
    before: bytes | None
    """The current bytes, restored if a later write fails; None when the file does not exist."""


@contextmanager
def apply_lock(state_dir: Path, *, timeout: float = 120.0) -> Iterator[None]:
    """Hold ``.refinery/apply.lock`` so that applies and undos run one after another."""
    from filelock import FileLock, Timeout

    state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state_dir / LOCK_NAME), timeout=timeout)
    try:
        lock.acquire()
    except Timeout as exc:
        raise ApplyRefused(
            f"another Refinery apply or undo still holds {state_dir / LOCK_NAME}",
            "wait for it to finish, then run the command again",
        ) from exc
    try:
        yield
    finally:
        lock.release()


def temp_dir(state_dir: Path) -> Path:
    """``.refinery/tmp/``, created if needed: where new file contents wait to be renamed."""
    folder = state_dir / TEMP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def clear_temp_dir(state_dir: Path) -> None:
    """Remove what killed writes left in ``.refinery/tmp/`` (call it holding the apply lock)."""
    shutil.rmtree(state_dir / TEMP_DIR, ignore_errors=True)


def write_files(writes: Sequence[FileWrite], *, staging: Path | None = None) -> None:
    """Write every file atomically, all or nothing; ApplyRefused when one cannot be written.

    Args:
        writes: the files and their new bytes.
        staging: the folder for temporary files (default: each target's own folder).
    """
    staged: list[tuple[FileWrite, Path | None]] = []
    for write in writes:
        try:
            staged.append((write, _stage(write, staging)))
        except OSError as exc:
            _discard(staged)
            raise _failure(write.path, exc, "nothing was changed") from exc
    done: list[FileWrite] = []
    for index, (write, temporary) in enumerate(staged):
        try:
            _put(write.path, temporary)
        except OSError as exc:
            _discard(staged[index:])
            raise _failure(write.path, exc, _rollback(done, staging)) from exc
        done.append(write)


def _stage(write: FileWrite, staging: Path | None) -> Path | None:
    """A fsynced temporary copy of ``write.data``, with the target's mode."""
    if write.data is None:
        return None
    target = write.path
    mode = stat.S_IMODE(target.stat().st_mode) if target.is_file() else _NEW_FILE_MODE
    return write_temporary(target, write.data, suffix=".refinery", mode=mode, folder=staging)


def _put(target: Path, temporary: Path | None) -> None:
    if temporary is None:
        target.unlink(missing_ok=True)
    else:
        _rename(temporary, target)
    _sync_directory(target.parent)


def _rename(temporary: Path, target: Path) -> None:
    """Rename over ``target``; across file systems, copy beside it first, then rename."""
    try:
        os.replace(temporary, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        beside = write_temporary(target, temporary.read_bytes(), suffix=".refinery")
        shutil.copymode(temporary, beside)
        temporary.unlink(missing_ok=True)
        try:
            os.replace(beside, target)
        except BaseException:
            beside.unlink(missing_ok=True)
            raise


def _sync_directory(folder: Path) -> None:
    """Make the rename durable: fsync the directory entry (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard(staged: Sequence[tuple[FileWrite, Path | None]]) -> None:
    for _, temporary in staged:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _rollback(done: Sequence[FileWrite], staging: Path | None) -> str:
    """Give the already written files their previous bytes back; say how that went."""
    failed: list[str] = []
    for write in reversed(done):
        undo = FileWrite(path=write.path, data=write.before, before=write.data)
        try:
            _put(write.path, _stage(undo, staging))
        except OSError as exc:
            failed.append(f"{write.path} ({exc.strerror or exc})")
    if failed:
        return f"could NOT restore {', '.join(failed)}: check these files by hand"
    if done:
        return f"nothing was changed: the {len(done)} file(s) written before it were restored"
    return "nothing was changed"


def _failure(path: Path, exc: OSError, outcome: str) -> ApplyRefused:
    return ApplyRefused(f"cannot write {path}: {exc.strerror or exc}", outcome)
