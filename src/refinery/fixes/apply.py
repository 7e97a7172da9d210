"""Applying a hypothesis and undoing it: the library entry points of ``refinery.fixes``.

``apply_change`` prepares and validates everything in memory (edits, paths, syntax, size, secrets,
git state) and refuses with every problem at once; only then, under the lock, it builds the commit,
writes the files atomically, moves HEAD and records the change. ``undo`` checks every precondition
(Refinery's own commit, not undone yet, not pushed, files unchanged since) and reverts with a new
commit, restoring the exact bytes the files had. ``dry_run`` shows the diff and the verdict.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..config import Settings
from ..errors import ApplyRefused, InputError
from ..models.change import Change, ChangedFile
from ..models.diagnosis import Hypothesis
from ..redaction import redact_texts
from ..store import changes as store  # a module import: store.changes imports fixes.change
from . import git
from .edits import PreparedChange, PreparedFile, edit_text, prepare_edits, render_diff
from .secrets import scan_added
from .validate import DEFAULT_MAX_BYTES, check_content
from .write import FileWrite, apply_lock, write_files


@dataclass(frozen=True, kw_only=True)
class DryRun:
    """What applying a hypothesis would do, without doing it."""

    diff: str
    """Unified diff of every file that would change."""
    problems: tuple[str, ...]
    """Why applying would be refused, one line each; empty when it would apply."""
    notes: tuple[str, ...]
    """Things to know, such as a whitespace-tolerant match."""
    files: tuple[str, ...]
    """The files that would change."""

    @property
    def valid(self) -> bool:
        """True when applying would not be refused."""
        return not self.problems


@dataclass(frozen=True, kw_only=True)
class _Plan:
    prepared: PreparedChange
    problems: tuple[str, ...]
    top: Path | None
    head: str | None
    commit_files: dict[str, tuple[str, bytes]]
    """git path → (mode, bytes) of the commit."""
    index_files: dict[str, tuple[str, bytes]]
    """git path → (mode, bytes) the index gets, when that differs from the commit."""


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``, as change records store it."""
    return hashlib.sha256(data).hexdigest()


def dry_run(
    hypothesis: Hypothesis,
    settings: Settings,
    allowed_files: Collection[str] | None,
    *,
    allow_dirty: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> DryRun:
    """The diff, problems and notes of applying ``hypothesis``; nothing is written."""
    plan = _plan(hypothesis, settings.repo_root, allowed_files, allow_dirty, max_bytes)
    return DryRun(
        diff=render_diff(plan.prepared),
        problems=plan.problems,
        notes=plan.prepared.notes,
        files=tuple(file.path for file in plan.prepared.files),
    )


def apply_change(
    hypothesis: Hypothesis,
    *,
    analysis_id: str,
    expected: str,
    settings: Settings,
    allowed_files: Collection[str],
    allow_dirty: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Change:
    """Apply ``hypothesis`` as one git commit, all or nothing; ApplyRefused names every problem."""
    root = settings.repo_root.resolve()
    git.toplevel(root)
    with apply_lock(settings.state_dir):
        plan = _plan(hypothesis, root, allowed_files, allow_dirty, max_bytes)
        if plan.problems or plan.top is None or plan.head is None:
            raise _refusal(f"cannot apply hypothesis {hypothesis.rank} ({hypothesis.title})", plan)
        change_id = _new_change_id()
        message = _message(hypothesis, analysis_id, expected, change_id)
        commit = _commit(plan.top, plan.head, plan.commit_files, message)
        writes = [
            FileWrite(path=root / f.path, data=f.after, before=f.before)
            for f in plan.prepared.files
        ]
        _write_and_advance(
            plan.top, writes, commit, plan.head, _index_entries(plan.top, plan), "apply"
        )
        change = _change(hypothesis, analysis_id, expected, change_id, commit, plan)
        befores = {f.path: f.before for f in plan.prepared.files if f.before is not None}
        store.record_change(settings.state_dir, change, befores)
    return change


def _change(
    hypothesis: Hypothesis,
    analysis_id: str,
    expected: str,
    change_id: str,
    commit: str,
    plan: _Plan,
) -> Change:
    """The record of an applied hypothesis: what ``refinery undo`` and ``--json`` show."""
    return Change(
        id=change_id,
        analysis_id=analysis_id,
        hypothesis_rank=hypothesis.rank,
        hypothesis_title=hypothesis.title,
        expected=expected,
        files=tuple(_changed(file) for file in plan.prepared.files),
        commit=commit,
        created_at=datetime.now(UTC),
        undo_command=f"refinery undo {change_id}",
    )


def _plan(
    hypothesis: Hypothesis,
    repo_root: Path,
    allowed_files: Collection[str] | None,
    allow_dirty: bool,
    max_bytes: int,
) -> _Plan:
    root = repo_root.resolve()
    prepared = prepare_edits(hypothesis.edits, root, allowed_files=allowed_files)
    problems = [*prepared.problems]
    if not hypothesis.edits:
        problems.append(f"hypothesis {hypothesis.rank} has no edits to apply")
    for file in prepared.files:
        problems.extend(check_content(file.path, file.before, file.after, max_bytes=max_bytes))
        problems.extend(_secret_problems(file))
    top, head, git_problems, commit_files, index_files = _git_side(root, prepared, allow_dirty)
    return _Plan(
        prepared=prepared,
        problems=tuple([*problems, *git_problems]),
        top=top,
        head=head,
        commit_files=commit_files,
        index_files=index_files,
    )


def _secret_problems(file: PreparedFile) -> list[str]:
    before = file.before.decode("utf-8", errors="replace") if file.before is not None else ""
    hits = scan_added(file.path, before, file.after.decode("utf-8", errors="replace"))
    return [
        f"{file.path}:{hit.line}: the new text contains a secret ({hit.type}): remove it"
        for hit in hits
    ]


_GitSide = tuple[
    Path | None, str | None, list[str], dict[str, tuple[str, bytes]], dict[str, tuple[str, bytes]]
]


def _git_side(root: Path, prepared: PreparedChange, allow_dirty: bool) -> _GitSide:
    """The commit's and the index's new blobs, and every git reason to refuse."""
    try:
        top = git.toplevel(root)
    except ApplyRefused as exc:
        return None, None, [str(exc)], {}, {}
    head = git.head(top)
    if head is None:
        return top, None, [f"{top} has no commits yet: commit your files first"], {}, {}
    paths = {file.path: (root / file.path).relative_to(top).as_posix() for file in prepared.files}
    dirty = git.dirty_paths(top, list(paths.values()))
    problems: list[str] = []
    commit_files: dict[str, tuple[str, bytes]] = {}
    index_files: dict[str, tuple[str, bytes]] = {}
    for file in prepared.files:
        gpath = paths[file.path]
        found = _file_blobs(top, head, gpath, file, dirty=gpath in dirty, allow_dirty=allow_dirty)
        problems.extend(found.problems)
        if found.commit is not None:
            commit_files[gpath] = found.commit
        if found.index is not None:
            index_files[gpath] = found.index
    return top, head, problems, commit_files, index_files


@dataclass(frozen=True, kw_only=True)
class _Blobs:
    commit: tuple[str, bytes] | None = None
    index: tuple[str, bytes] | None = None
    problems: tuple[str, ...] = ()


def _file_blobs(
    top: Path, head: str, gpath: str, file: PreparedFile, *, dirty: bool, allow_dirty: bool
) -> _Blobs:
    """The committed content is HEAD's version plus the edits: never the user's own changes."""
    committed = git.tree_entry(top, head, gpath)
    if committed is None:
        if file.before is not None:
            return _refused(f"{file.path}: not committed to git yet: commit it first")
        return _Blobs(commit=(git.REGULAR, file.after))
    if dirty and not allow_dirty:
        return _refused(
            f"{file.path}: has uncommitted changes: commit or stash them, or use --allow-dirty"
        )
    commit = _edited(top, committed, file)
    if commit is None:
        return _refused(
            f"{file.path}: the edits touch your uncommitted changes, which Refinery will not "
            "commit: commit or stash them first"
        )
    staged = git.index_entry(top, gpath)
    if staged is None or staged == committed:
        return _Blobs(commit=commit)
    index = _edited(top, staged, file)
    if index is None:
        return _refused(f"{file.path}: the edits touch your staged changes: commit them first")
    return _Blobs(commit=commit, index=index)


def _refused(problem: str) -> _Blobs:
    return _Blobs(problems=(problem,))


def _edited(top: Path, entry: git.Entry, file: PreparedFile) -> tuple[str, bytes] | None:
    try:
        text = git.read_blob(top, entry.sha).decode("utf-8")
    except UnicodeDecodeError:
        return None
    result = edit_text(file.path, text, file.edits)
    return None if result.problems else (entry.mode, result.text.encode("utf-8"))


def _index_entries(top: Path, plan: _Plan) -> dict[str, git.Entry | None]:
    chosen = {**plan.commit_files, **plan.index_files}
    return {
        path: git.Entry(mode=mode, sha=git.write_blob(top, data))
        for path, (mode, data) in chosen.items()
    }


def _commit(top: Path, head: str, files: dict[str, tuple[str, bytes]], message: str) -> str:
    entries: dict[str, git.Entry | None] = {
        path: git.Entry(mode=mode, sha=git.write_blob(top, data))
        for path, (mode, data) in files.items()
    }
    return git.create_commit(top, head, entries, message)


def _write_and_advance(
    top: Path,
    writes: list[FileWrite],
    commit: str,
    head: str,
    index: dict[str, git.Entry | None],
    reason: str,
) -> None:
    """Write the files, then move HEAD; if HEAD cannot move, put the files back."""
    write_files(writes)
    try:
        git.advance_head(top, commit, head, f"refinery: {reason}")
    except ApplyRefused:
        write_files([FileWrite(path=w.path, data=w.before, before=w.data) for w in writes])
        raise
    git.set_index(top, index, head)


def _changed(file: PreparedFile) -> ChangedFile:
    before = sha256(file.before) if file.before is not None else None
    return ChangedFile(path=file.path, sha256_before=before, sha256_after=sha256(file.after))


def _new_change_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def _one_line(text: str) -> str:
    """Collapse whitespace so that user text cannot forge trailers in the commit message."""
    return " ".join(text.split())


def _message(hypothesis: Hypothesis, analysis_id: str, expected: str, change_id: str) -> str:
    """The commit message; its texts are redacted, as a title may quote the trace."""
    title, expected = (_one_line(t) for t in redact_texts([hypothesis.title, expected]))
    return (
        f"Refinery: {title}\n\n"
        f"Analysis: {_one_line(analysis_id)}\n"
        f"Hypothesis: #{hypothesis.rank} {title}\n"
        f"Expected: {expected}\n\n"
        f"{git.CHANGE_TRAILER}: {change_id}\n"
    )


def _refusal(what: str, plan: _Plan) -> ApplyRefused:
    problems = plan.problems or ("git repository unavailable",)
    return ApplyRefused(f"{what}: " + "; ".join(problems))


def undo(change_id: str | None, settings: Settings) -> Change:
    """Revert Refinery's last (or the named) change with a new commit; returns it marked undone."""
    root = settings.repo_root.resolve()
    top = git.toplevel(root)
    with apply_lock(settings.state_dir):
        change = _find_change(change_id, settings.state_dir, top)
        head = git.head(top)
        problems = _undo_problems(change, root, top, head, settings.state_dir)
        if problems or head is None:
            raise ApplyRefused(f"cannot undo change {change.id}: " + "; ".join(problems))
        gpaths = {f.path: (root / f.path).relative_to(top).as_posix() for f in change.files}
        entries = {g: git.tree_entry(top, f"{change.commit}^", g) for g in gpaths.values()}
        revert = git.create_commit(top, head, entries, _undo_message(change))
        writes = [
            FileWrite(
                path=root / f.path,
                data=store.load_before(settings.state_dir, change, f.path),
                before=(root / f.path).read_bytes(),
            )
            for f in change.files
        ]
        _write_and_advance(top, writes, revert, head, entries, "undo")
        undone = change.model_copy(update={"undone_by": revert})
        store.record_change(settings.state_dir, undone)
    return undone


def _find_change(change_id: str | None, state_dir: Path, top: Path) -> Change:
    """The named change (by change id or commit), or the last one."""
    if change_id is None:
        changes = store.list_changes(state_dir)
        if not changes:
            raise ApplyRefused("nothing to undo: Refinery has not applied any change here")
        return changes[-1]
    change = store.load_change(state_dir, change_id)
    if change is not None:
        return change
    commit = git.resolve_commit(top, change_id)
    if commit is None:
        raise InputError(f"no change or commit named {change_id}", "run `refinery history`")
    for candidate in store.list_changes(state_dir):
        if candidate.commit == commit:
            return candidate
    raise ApplyRefused(
        f"cannot undo commit {commit[:12]}: not made by Refinery (no change record)",
        "Refinery only undoes its own changes; use `git revert` for others",
    )


def _undo_problems(
    change: Change, root: Path, top: Path, head: str | None, state_dir: Path
) -> list[str]:
    """Every reason not to undo ``change``; empty when it is safe."""
    short = change.commit[:12]
    if change.undone_by:
        return [f"already undone by commit {change.undone_by[:12]}"]
    if git.resolve_commit(top, change.commit) is None:
        return [f"its commit {short} no longer exists"]
    problems: list[str] = []
    if git.trailer(top, change.commit, git.CHANGE_TRAILER) != change.id:
        problems.append(f"commit {short} is not Refinery's (no {git.CHANGE_TRAILER}: {change.id})")
    if head is None or not git.is_ancestor(top, change.commit, head):
        problems.append(f"commit {short} is not in the current branch's history")
    pushed = git.remote_branches_containing(top, change.commit)
    if pushed:
        where = ", ".join(pushed)
        problems.append(f"commit {short} has been pushed to {where}: use `git revert` instead")
    for file in change.files:
        problems.extend(_file_undo_problems(change, file, root, top, head, state_dir))
    return problems


def _file_undo_problems(
    change: Change, file: ChangedFile, root: Path, top: Path, head: str | None, state_dir: Path
) -> list[str]:
    target = root / file.path
    current = target.read_bytes() if target.is_file() else None
    if current is None or sha256(current) != file.sha256_after:
        return [
            f"{file.path} changed since the change (its content differs from what Refinery wrote)"
        ]
    gpath = target.relative_to(top).as_posix()
    committed = git.tree_entry(top, change.commit, gpath)
    if head is not None and git.tree_entry(top, head, gpath) != committed:
        return [f"{file.path} was committed again since the change"]
    if git.index_entry(top, gpath) != committed:
        return [f"{file.path} has staged changes: commit or unstage them first"]
    before = store.load_before(state_dir, change, file.path)
    if file.sha256_before is not None and (before is None or sha256(before) != file.sha256_before):
        return [f"the saved copy of {file.path} from before the change is missing or damaged"]
    return []


def _undo_message(change: Change) -> str:
    return (
        f"Refinery undo: {_one_line(change.hypothesis_title)}\n\n"
        f"Reverts {change.commit} (change {change.id}, analysis {change.analysis_id}).\n\n"
        f"{git.UNDO_TRAILER}: {change.id}\n"
    )
