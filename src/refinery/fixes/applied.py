"""Whether a fix is already in its files: what makes applying it twice write nothing.

An edit inserts or replaces text next to an anchor that usually survives the edit (a rule added
after "Be polite." leaves "Be polite." in the file), so a second apply would find the anchor once
more and add the rule again. An edit counts as applied when the file already holds its result:
the whole replacement text, with the searched text gone unless the replacement keeps it; or, for
an edit that only adds lines, every added line that says something (a lone bracket does not), so
the same rule re-anchored elsewhere by a later analysis is recognised too. Line endings are
compared as LF, and an edit with nothing to add (a pure deletion) never counts as applied.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from difflib import SequenceMatcher
from enum import Enum
from pathlib import Path

from ..models.diagnosis import Edit
from .validate import resolve_target

_WORDY = re.compile(r"[^\W\d_]{3,}")


class Presence(Enum):
    """How much of a fix its files already hold."""

    NONE = "none"
    SOME = "some"
    ALL = "all"


def presence(edits: Sequence[Edit], repo_root: Path) -> tuple[Presence, tuple[int, ...]]:
    """How much of ``edits`` the files already hold, and the numbers (from 1) of those edits."""
    found = tuple(
        number
        for number, edit in enumerate(edits, start=1)
        if _edit_present(edit, _current_text(repo_root, edit.file))
    )
    if not edits or not found:
        return Presence.NONE, found
    return (Presence.ALL if len(found) == len(edits) else Presence.SOME), found


def _current_text(repo_root: Path, file: str) -> str | None:
    target, _ = resolve_target(repo_root, file)
    if target is None or not target.is_file():
        return None
    try:
        return target.read_bytes().decode("utf-8").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError):
        return None


def _edit_present(edit: Edit, text: str | None) -> bool:
    if text is None:
        return False
    search = edit.search.replace("\r\n", "\n")
    replace = edit.replace.replace("\r\n", "\n")
    if not replace.strip():
        return False
    if replace in text and (not search or search in replace or search not in text):
        return True
    return _added_lines_present(search, replace, text)


def _added_lines_present(search: str, replace: str, text: str) -> bool:
    """True when the edit only adds lines and the file already holds every meaningful one."""
    old = [line.strip() for line in search.splitlines() if line.strip()]
    new = [line.strip() for line in replace.splitlines() if line.strip()]
    added: list[str] = []
    for tag, _, _, start, end in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            return False  # the edit changes or drops a line: not an addition
        if tag == "insert":
            added.extend(line for line in new[start:end] if _WORDY.search(line))
    have = Counter(line.strip() for line in text.splitlines())
    wanted = Counter(added)
    return bool(wanted) and all(have[line] >= count for line, count in wanted.items())
