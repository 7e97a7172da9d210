"""A unified diff as side-by-side rows: before on the left, after on the right.

Removed and added lines of one hunk are paired row by row, so a changed line sits beside its
replacement; lines only on one side leave the other cell empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True, kw_only=True)
class Row:
    """One row: line numbers and text of each side (None where the side has no line)."""

    left_no: int | None
    left: str | None
    right_no: int | None
    right: str | None
    kind: str
    """``same``, ``change``, ``del``, ``add`` or ``hunk`` (a separator)."""


@dataclass(kw_only=True)
class FileDiff:
    """The rows of one file."""

    path: str
    rows: list[Row] = field(default_factory=list)


@dataclass(kw_only=True)
class _Cursor:
    left: int = 0
    right: int = 0
    removed: list[tuple[int, str]] = field(default_factory=list)
    added: list[tuple[int, str]] = field(default_factory=list)


def side_by_side(diff: str) -> list[FileDiff]:
    """The files of a unified diff, each as side-by-side rows."""
    files: list[FileDiff] = []
    cursor = _Cursor()
    for line in diff.splitlines():
        if line.startswith("+++ "):
            files.append(FileDiff(path=_path(line[4:])))
        elif line.startswith("--- ") or not files:
            continue
        else:
            _line(files[-1], cursor, line)
    if files:
        _flush(files[-1], cursor)
    return files


def _path(name: str) -> str:
    name = name.split("\t")[0].strip()
    return name[2:] if name.startswith(("a/", "b/")) else name


def _line(file: FileDiff, cursor: _Cursor, line: str) -> None:
    match = _HUNK.match(line)
    if match:
        _flush(file, cursor)
        cursor.left, cursor.right = int(match[1]), int(match[2])
        file.rows.append(Row(left_no=None, left=None, right_no=None, right=None, kind="hunk"))
    elif line.startswith("-"):
        cursor.removed.append((cursor.left, line[1:]))
        cursor.left += 1
    elif line.startswith("+"):
        cursor.added.append((cursor.right, line[1:]))
        cursor.right += 1
    elif line.startswith(" ") or line == "":
        _flush(file, cursor)
        text = line[1:]
        file.rows.append(
            Row(left_no=cursor.left, left=text, right_no=cursor.right, right=text, kind="same")
        )
        cursor.left += 1
        cursor.right += 1


def _flush(file: FileDiff, cursor: _Cursor) -> None:
    removed, added = cursor.removed, cursor.added
    for index in range(max(len(removed), len(added))):
        left = removed[index] if index < len(removed) else None
        right = added[index] if index < len(added) else None
        kind = "change" if left and right else ("del" if left else "add")
        file.rows.append(
            Row(
                left_no=left[0] if left else None,
                left=left[1] if left else None,
                right_no=right[0] if right else None,
                right=right[1] if right else None,
                kind=kind,
            )
        )
    cursor.removed, cursor.added = [], []
