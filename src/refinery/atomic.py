"""Whole-file writes that a crash or a concurrent reader never sees half done.

Every file Refinery keeps under ``.refinery/`` (context, change records, cache entries, batch
records, extracted prompts) is written the same way: a temporary file in the same folder, fsync,
rename over the target, fsync of the folder. The multi-file, all-or-nothing writes of applied fixes
live in ``fixes/write.py``, which also keeps the target's mode.
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


def write_temporary(target: Path, data: bytes, *, suffix: str, mode: int | None = None) -> Path:
    """A new fsynced file holding ``data`` beside ``target``, ready to be renamed over it.

    It sits in the target's folder because a rename is atomic only within one file system; a
    failed write leaves no temporary file behind.
    """
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
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
