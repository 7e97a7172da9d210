"""Edits prepared in memory: every search text located exactly once before anything is written.

An ``Edit(file, search, replace)`` applies to the file's current content. The search text must
occur exactly once; when it does not occur at all, a whitespace-tolerant match is tried and used
only if it is unambiguous, and that is reported in the notes. CRLF files keep CRLF: the edit's line
breaks are converted to the file's. Several edits to one file apply in sequence. A failed edit
names the file and shows the nearest real lines, so a person (or an LLM asked again) can fix it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..models.diagnosis import Edit
from .validate import check_allowed, resolve_target

_SNIPPET_CHARS = 240


@dataclass(frozen=True, kw_only=True)
class PreparedFile:
    """One file's content before and after its edits, in memory."""

    path: str
    """Path relative to the repository root, symlinks resolved."""
    before: bytes | None
    """The current bytes; None when the edits create the file."""
    after: bytes
    """The bytes the edits produce."""
    edits: tuple[Edit, ...] = ()
    """The edits that produced ``after``, in order."""


@dataclass(frozen=True, kw_only=True)
class PreparedChange:
    """All files of a hypothesis prepared in memory, with what went wrong and what to know."""

    files: tuple[PreparedFile, ...] = ()
    """The files whose edits all applied."""
    problems: tuple[str, ...] = ()
    """Why some edit cannot apply, one line each; empty when every edit applies."""
    notes: tuple[str, ...] = ()
    """Things the user should know, such as a whitespace-tolerant match."""


@dataclass(frozen=True, kw_only=True)
class EditedText:
    """The result of applying one file's edits to a text."""

    text: str
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def prepare_edits(
    edits: Iterable[Edit], repo_root: Path, *, allowed_files: Collection[str] | None
) -> PreparedChange:
    """Apply ``edits`` to the files under ``repo_root`` in memory; nothing is written."""
    root = repo_root.resolve()
    grouped: dict[str, list[Edit]] = {}
    problems: list[str] = []
    for edit in edits:
        path, problem = _locate(root, edit.file, allowed_files)
        if path is None:
            problems.append(problem or f"{edit.file}: cannot be resolved")
            continue
        grouped.setdefault(path, []).append(edit)
    files: list[PreparedFile] = []
    notes: list[str] = []
    for path, file_edits in grouped.items():
        prepared, result = _prepare_file(root, path, file_edits)
        problems.extend(result.problems)
        notes.extend(result.notes)
        if prepared is not None and not result.problems:
            files.append(prepared)
    return PreparedChange(files=tuple(files), problems=tuple(problems), notes=tuple(notes))


def _locate(
    root: Path, file: str, allowed_files: Collection[str] | None
) -> tuple[str | None, str | None]:
    """The canonical relative path of ``file``, or None and why it may not be written."""
    target, problem = resolve_target(root, file)
    if target is None:
        return None, problem
    problem = check_allowed(root, target, allowed_files)
    return (None, problem) if problem else (target.relative_to(root).as_posix(), None)


def _prepare_file(
    root: Path, path: str, edits: list[Edit]
) -> tuple[PreparedFile | None, EditedText]:
    target = root / path
    if target.exists() and not target.is_file():
        return None, EditedText(text="", problems=(f"{path}: not a regular file",))
    try:
        before = target.read_bytes() if target.exists() else None
        text = before.decode("utf-8") if before is not None else None
    except (OSError, UnicodeDecodeError) as exc:
        return None, EditedText(text="", problems=(f"{path}: cannot read as UTF-8 text ({exc})",))
    result = edit_text(path, text, edits)
    prepared = PreparedFile(
        path=path, before=before, after=result.text.encode("utf-8"), edits=tuple(edits)
    )
    return prepared, result


def edit_text(path: str, text: str | None, edits: Iterable[Edit]) -> EditedText:
    """Apply ``edits`` in sequence to ``text`` (None: the file does not exist yet)."""
    notes: list[str] = []
    problems: list[str] = []
    for number, edit in enumerate(edits, start=1):
        label = f"{path}: edit {number}"
        if text is None or not edit.search:
            new, problem = _create(label, text, edit)
        else:
            new, problem, note = _replace_once(label, text, edit)
            notes.extend([note] if note else [])
        problems.extend([problem] if problem else [])
        text = new if new is not None else text
    return EditedText(text=text or "", notes=tuple(notes), problems=tuple(problems))


def check_edit(edit: Edit, content: str | None) -> list[str]:
    """Problems applying ``edit`` to ``content`` (None: file missing); empty when it applies."""
    return list(edit_text(edit.file, content, [edit]).problems)


def _create(label: str, text: str | None, edit: Edit) -> tuple[str | None, str | None]:
    if text is None and edit.search:
        return None, f"{label}: the file does not exist (an empty search text creates a file)"
    if text is not None:
        return None, f"{label}: empty search text, but the file exists: quote the text to replace"
    return edit.replace, None


def _variants(text: str, edit: Edit) -> list[tuple[str, str]]:
    """(search, replace) as given and, for a CRLF file, with the file's line breaks."""
    pairs = [(edit.search, edit.replace)]
    if "\r\n" in text and "\r\n" not in edit.search and "\n" in edit.search:
        crlf = (_to_crlf(edit.search), _to_crlf(edit.replace))
        pairs.insert(0 if _mostly_crlf(text) else 1, crlf)
    return pairs


def _to_crlf(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\n", "\r\n")


def _mostly_crlf(text: str) -> bool:
    return text.count("\r\n") * 2 >= text.count("\n")


def _occurrences(text: str, search: str) -> list[int]:
    found, start = [], text.find(search)
    while start != -1:
        found.append(start)
        start = text.find(search, start + 1)
    return found


def _replace_once(label: str, text: str, edit: Edit) -> tuple[str | None, str | None, str | None]:
    for search, replace in _variants(text, edit):
        where = _occurrences(text, search)
        if len(where) > 1:
            lines = ", ".join(str(text.count("\n", 0, at) + 1) for at in where[:5])
            return None, f"{label}: search text occurs {len(where)} times (lines {lines})", None
        if where:
            at = where[0]
            return text[:at] + replace + text[at + len(search) :], None, None
    return _replace_tolerant(label, text, edit)


def _replace_tolerant(
    label: str, text: str, edit: Edit
) -> tuple[str | None, str | None, str | None]:
    words = edit.search.split()
    matches = list(re.finditer(r"\s+".join(map(re.escape, words)), text)) if words else []
    if len(matches) != 1:
        how = (
            "not found" if not matches else f"only found ignoring whitespace, {len(matches)} times"
        )
        return None, f"{label}: search text {how}{_did_you_mean(text, edit.search)}", None
    match = matches[0]
    replace = _trim_like(edit.search, edit.replace)
    if _mostly_crlf(text) and "\r\n" not in replace:
        replace = _to_crlf(replace)
    line = text.count("\n", 0, match.start()) + 1
    note = f"{label}: matched at line {line} only after ignoring whitespace differences"
    return text[: match.start()] + replace + text[match.end() :], None, note


def _trim_like(search: str, replace: str) -> str:
    """Drop from ``replace`` the surrounding whitespace that ``search`` had but the match lacks."""
    lead = search[: len(search) - len(search.lstrip())]
    trail = search[len(search.rstrip()) :]
    if lead and replace.startswith(lead):
        replace = replace[len(lead) :]
    if trail and replace.endswith(trail):
        replace = replace[: len(replace) - len(trail)]
    return replace


def _did_you_mean(text: str, search: str) -> str:
    lines = text.splitlines()
    wanted = search.strip("\r\n").splitlines() or [search]
    size = len(wanted)
    target = "\n".join(line.strip() for line in wanted)
    best, best_at = 0.0, -1
    for at in range(max(1, len(lines) - size + 1)):
        chunk = "\n".join(line.strip() for line in lines[at : at + size])
        matcher = difflib.SequenceMatcher(None, chunk, target)
        if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
            ratio = matcher.ratio()
            best, best_at = (ratio, at) if ratio > best else (best, best_at)
    if best < 0.4 or best_at < 0:
        return ""
    shown = " ⏎ ".join(lines[best_at : best_at + size])
    if len(shown) > _SNIPPET_CHARS:
        shown = shown[:_SNIPPET_CHARS] + "…"
    span = f"line {best_at + 1}" if size == 1 else f"lines {best_at + 1}-{best_at + size}"
    return f'; did you mean to match {span}: "{shown}"?'


def render_diff(prepared: PreparedChange) -> str:
    """A unified diff of every prepared file, as ``git diff`` would show it."""
    chunks: list[str] = []
    for file in prepared.files:
        old = file.before.decode("utf-8") if file.before is not None else ""
        new = file.after.decode("utf-8")
        diff = difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{file.path}" if file.before is not None else "/dev/null",
            tofile=f"b/{file.path}",
        )
        chunks.append("".join(_diff_line(line) for line in diff))
    return "".join(chunks)


def _diff_line(line: str) -> str:
    """A diff line ending in a newline; a file's unterminated last line gets git's marker."""
    return line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
