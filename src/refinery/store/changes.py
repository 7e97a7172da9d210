"""Change records on disk: ``.refinery/changes/<change_id>.json`` plus each file's previous bytes.

The JSON record is the Change itself; the ``<change_id>.before/`` folder keeps the exact
working-tree bytes of every file the change overwrote, so that undo restores them byte for byte
(line endings, encoding and the user's own uncommitted edits included) whatever git's filters do.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from ..atomic import write_atomic
from ..errors import InputError
from ..models.change import Change

CHANGES_DIR = "changes"


def changes_dir(state_dir: Path) -> Path:
    """Where change records live under ``.refinery/``."""
    return state_dir / CHANGES_DIR


def record_change(
    state_dir: Path, change: Change, before: Mapping[str, bytes] | None = None
) -> Path:
    """Write (or overwrite) ``change``'s record, and its files' ``before`` bytes if given."""
    folder = changes_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if before is not None:
        backup = folder / f"{change.id}.before"
        backup.mkdir(exist_ok=True)
        for index, changed in enumerate(change.files):
            if changed.path in before:
                write_atomic(backup / str(index), before[changed.path])
    path = folder / f"{change.id}.json"
    write_atomic(path, change.model_dump_json(indent=2).encode())
    return path


def load_change(state_dir: Path, change_id: str) -> Change | None:
    """The change recorded under ``change_id``, or None when there is none."""
    if not change_id or "/" in change_id or change_id.startswith("."):
        return None
    path = changes_dir(state_dir) / f"{change_id}.json"
    if not path.is_file():
        return None
    try:
        return Change.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise InputError(
            f"cannot read change record {path}: {exc.errors()[0]['msg']}",
            "restore it from version control or delete it",
        ) from exc


def list_changes(state_dir: Path) -> list[Change]:
    """Every recorded change, oldest first."""
    folder = changes_dir(state_dir)
    if not folder.is_dir():
        return []
    changes = [load_change(state_dir, path.stem) for path in sorted(folder.glob("*.json"))]
    return sorted((c for c in changes if c is not None), key=lambda c: (c.created_at, c.id))


def load_before(state_dir: Path, change: Change, path: str) -> bytes | None:
    """The bytes ``path`` had before ``change``, or None when they were not kept."""
    for index, changed in enumerate(change.files):
        backup = changes_dir(state_dir) / f"{change.id}.before" / str(index)
        if changed.path == path and backup.is_file():
            return backup.read_bytes()
    return None
