"""Whole-file writes that a crash or a concurrent reader never sees half done.

Every file Refinery keeps under ``.refinery/`` (context, change records, cache entries, batch
records, extracted prompts) is written the same way: a temporary file in the same folder, fsync,
rename over the target, fsync of the folder. A process killed between the two leaves a
``.<name>.XXXX.tmp`` file that ``.refinery/.gitignore`` ignores and ``sweep_temporaries``
removes. The multi-file, all-or-nothing writes of applied fixes live in ``fixes/write.py``, which
also keeps the target's mode.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` all at once: temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = write_temporary(path, data, suffix=".tmp")
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_temporary(
    target: Path, data: bytes, *, suffix: str, mode: int | None = None, folder: Path | None = None
) -> Path:
    """A new fsynced file holding ``data``, ready to be renamed over ``target``.

    It sits in the target's folder unless ``folder`` is given (a rename is atomic only within one
    file system, so ``folder`` must be on the target's); a failed write leaves no temporary file.
    """
    where = folder or target.parent
    handle, name = tempfile.mkstemp(dir=where, prefix=f".{target.name}.", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(name, mode)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable; some platforms cannot open a directory, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        return
    finally:
        os.close(fd)


def sweep_temporaries(folder: Path, *, older_than: float = 600.0) -> int:
    """Remove ``.*.tmp`` files under ``folder`` left by killed processes; return how many.

    Only files older than ``older_than`` seconds go: a younger one may belong to a write that is
    still running in another process.
    """
    import time

    if not folder.is_dir():
        return 0
    limit = time.time() - older_than
    removed = 0
    for path in folder.rglob(".*.tmp"):
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
