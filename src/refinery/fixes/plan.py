"""The plan of an apply: every edit made in memory, checked, and sorted into two kinds of refusal.

A fix can be *invalid in itself* (an edit does not apply, the file would no longer parse, a secret
in the new text, a path outside the project) or *blocked by the user's own state* (uncommitted
changes in its file, a file not committed yet, no repository, another git process holding the
index). ``--apply`` without N falls back to a lower-ranked fix only for the first kind; for the
second, the user decides. A fix whose text its files already hold is neither: it is applied.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from ..errors import ApplyRefused
from ..models.diagnosis import Hypothesis
from . import git
from .applied import Presence, presence
from .edits import PreparedChange, PreparedFile, edit_text, prepare_edits
from .secrets import scan_added
from .validate import check_content

Blob = tuple[str, bytes]
"""A file as a commit or the index gets it: (mode, bytes)."""


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What applying one hypothesis would write, and why it may not."""

    prepared: PreparedChange
    problems: tuple[str, ...] = ()
    """Why the fix is invalid in itself."""
    blockers: tuple[str, ...] = ()
    """Why the user's own state prevents it now (their decision, not a reason to fall back)."""
    already_applied: bool = False
    """True when the files already hold every edit's result."""
    top: Path | None = None
    head: str | None = None
    commit_files: dict[str, Blob] | None = None
    """git path → the commit's blob."""
    index_files: dict[str, Blob] | None = None
    """git path → the index's blob, when that differs from the commit's (staged user changes)."""

    @property
    def all_problems(self) -> tuple[str, ...]:
        """Every reason to refuse, intrinsic first."""
        return (*self.problems, *self.blockers)


def make_plan(
    hypothesis: Hypothesis,
    repo_root: Path,
    allowed_files: Collection[str] | None,
    *,
    allow_dirty: bool,
    max_bytes: int,
) -> Plan:
    """Prepare and check ``hypothesis`` against the files as they are now; nothing is written."""
    root = repo_root.resolve()
    found, numbers = presence(hypothesis.edits, root)
    if found is Presence.ALL:
        return Plan(prepared=PreparedChange(), already_applied=True)
    prepared = prepare_edits(hypothesis.edits, root, allowed_files=allowed_files)
    problems = [*prepared.problems]
    if not hypothesis.edits:  # the analysis' own reason (no file of that kind) says what to do
        problems.extend(hypothesis.problems or ["it proposes no edit to any file"])
    if found is Presence.SOME:
        listed = ", ".join(str(n) for n in numbers)
        problems.append(f"the text of edit(s) {listed} is already in the file: applied before?")
    for file in prepared.files:
        problems.extend(check_content(file.path, file.before, file.after, max_bytes=max_bytes))
        problems.extend(_secret_problems(file))
    side = _git_side(root, prepared, allow_dirty)
    return Plan(
        prepared=prepared,
        problems=tuple(problems),
        blockers=side.blockers,
        top=side.top,
        head=side.head,
        commit_files=side.commit_files,
        index_files=side.index_files,
    )


def _secret_problems(file: PreparedFile) -> list[str]:
    before = file.before.decode("utf-8", errors="replace") if file.before is not None else ""
    hits = scan_added(file.path, before, file.after.decode("utf-8", errors="replace"))
    return [
        f"{file.path}:{hit.line}: the new text contains a secret ({hit.type}): remove it"
        for hit in hits
    ]


@dataclass(frozen=True, kw_only=True)
class _GitSide:
    top: Path | None = None
    head: str | None = None
    blockers: tuple[str, ...] = ()
    commit_files: dict[str, Blob] | None = None
    index_files: dict[str, Blob] | None = None


def _git_side(root: Path, prepared: PreparedChange, allow_dirty: bool) -> _GitSide:
    """The commit's and the index's new blobs, and every reason in git's state to wait."""
    try:
        top = git.toplevel(root)
    except ApplyRefused as exc:
        return _GitSide(blockers=(str(exc),))
    head = git.head(top)
    if head is None:
        return _GitSide(top=top, blockers=(f"{top} has no commits yet: commit your files first",))
    lock = git.index_lock(top)
    blockers = [f"another git process is using the repository ({lock} exists)"] if lock else []
    paths = {file.path: (root / file.path).relative_to(top).as_posix() for file in prepared.files}
    dirty = git.dirty_paths(top, list(paths.values()))
    commit_files: dict[str, Blob] = {}
    index_files: dict[str, Blob] = {}
    for file in prepared.files:
        gpath = paths[file.path]
        found = _file_blobs(top, head, gpath, file, dirty=gpath in dirty, allow_dirty=allow_dirty)
        blockers.extend(found.blockers)
        if found.commit is not None:
            commit_files[gpath] = found.commit
        if found.index is not None:
            index_files[gpath] = found.index
    return _GitSide(
        top=top,
        head=head,
        blockers=tuple(blockers),
        commit_files=commit_files,
        index_files=index_files,
    )


@dataclass(frozen=True, kw_only=True)
class _Blobs:
    commit: Blob | None = None
    index: Blob | None = None
    blockers: tuple[str, ...] = ()


def _file_blobs(
    top: Path, head: str, gpath: str, file: PreparedFile, *, dirty: bool, allow_dirty: bool
) -> _Blobs:
    """The committed content is HEAD's version plus the edits: never the user's own changes."""
    committed = git.tree_entry(top, head, gpath)
    if committed is None:
        if file.before is not None:
            return _blocked(f"{file.path}: not committed to git yet: commit it first")
        return _Blobs(commit=(git.REGULAR, file.after))
    if dirty and not allow_dirty:
        return _blocked(
            f"{file.path}: has uncommitted changes: commit or stash them, or use --allow-dirty"
        )
    commit = _edited(top, committed, file)
    if commit is None:
        return _blocked(
            f"{file.path}: the edits touch your uncommitted changes, which Refinery will not "
            "commit: commit or stash them first"
        )
    staged = git.index_entry(top, gpath)
    if staged is None or staged == committed:
        return _Blobs(commit=commit)
    index = _edited(top, staged, file)
    if index is None:
        return _blocked(f"{file.path}: the edits touch your staged changes: commit them first")
    return _Blobs(commit=commit, index=index)


def _blocked(problem: str) -> _Blobs:
    return _Blobs(blockers=(problem,))


def _edited(top: Path, entry: git.Entry, file: PreparedFile) -> Blob | None:
    try:
        text = git.read_blob(top, entry.sha).decode("utf-8")
    except UnicodeDecodeError:
        return None
    result = edit_text(file.path, text, file.edits)
    return None if result.problems else (entry.mode, result.text.encode("utf-8"))
