"""Undoing an applied change: a new commit that restores the exact bytes the files had.

``undo`` checks every precondition (Refinery's own commit, not undone yet, not pushed, files
unchanged since) and reverts through the same journalled transaction as an apply. A Refinery
commit whose change record is missing (the record is written last, and a crash may have lost it)
is still undoable: the record is rebuilt from the commit itself, its trailer and its parent's
blobs, so ``refinery undo`` always works on a commit Refinery made.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from ..config import Settings
from ..errors import ApplyRefused, InputError
from ..models.change import Change, ChangedFile
from ..store import changes as store
from . import git, transaction
from .journal import IndexEntry, Journal, JournalFile, Operation, sha256_of

_CHANGE_ID = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{6}$")


def undo(change_id: str | None, settings: Settings) -> Change:
    """Revert Refinery's last (or the named) change with a new commit; returns it marked undone."""
    with transaction.locked(settings) as where:
        change = _find_change(change_id, where)
        head = git.head(where.top)
        problems = _undo_problems(change, where, head)
        if problems or head is None:
            raise ApplyRefused(f"cannot undo change {change.id}: " + "; ".join(problems))
        return _revert(where, change, head)


def _revert(where: transaction.Where, change: Change, head: str) -> Change:
    """Commit the reversal of ``change`` and restore its files, as one journalled transaction."""
    top, root = where.top, where.root
    gpaths = [(root / f.path).relative_to(top).as_posix() for f in change.files]
    entries = {g: git.tree_entry(top, f"{change.commit}^", g) for g in gpaths}
    revert = git.create_commit(top, head, entries, _undo_message(change))
    undone = change.model_copy(update={"undone_by": revert, "undo_command": ""})
    now = [(root / f.path).read_bytes() for f in change.files]
    then = [store.load_before(where.state_dir, change, f.path) for f in change.files]
    journal = Journal(
        operation=Operation.UNDO,
        change=undone,
        head=head,
        commit=revert,
        files=tuple(
            _journal_file(top, file, gpath, entries[gpath])
            for file, gpath in zip(change.files, gpaths, strict=True)
        ),
        keep_before=False,
    )
    transaction.run(where, journal, now, then)
    return undone


def _journal_file(
    top: Path, file: ChangedFile, gpath: str, restored: git.Entry | None
) -> JournalFile:
    current = git.index_entry(top, gpath)
    return JournalFile(
        path=file.path,
        git_path=gpath,
        sha256_before=file.sha256_after,
        sha256_after=file.sha256_before,
        index_before=IndexEntry(mode=current.mode, sha=current.sha) if current else None,
        index_after=IndexEntry(mode=restored.mode, sha=restored.sha) if restored else None,
    )


def _find_change(change_id: str | None, where: transaction.Where) -> Change:
    """The named change (by change id or commit), or the last one."""
    state_dir, top = where.state_dir, where.top
    if change_id is None:
        head = git.head(top)
        rebuilt = _rebuilt(where, head) if head else None
        if rebuilt is not None:
            return rebuilt
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
    rebuilt = _rebuilt(where, commit)
    if rebuilt is not None:
        return rebuilt
    raise ApplyRefused(
        f"cannot undo commit {commit[:12]}: not made by Refinery (no change record)",
        "Refinery only undoes its own changes; use `git revert` for others",
    )


def _rebuilt(where: transaction.Where, commit: str) -> Change | None:
    """The record of Refinery commit ``commit`` when it was lost, rebuilt and saved; else None."""
    change_id = git.trailer(where.top, commit, git.CHANGE_TRAILER)
    if not change_id or not _CHANGE_ID.match(change_id):
        return None
    if store.load_change(where.state_dir, change_id) is not None:
        return None
    files: list[ChangedFile] = []
    before: dict[str, bytes] = {}
    for gpath in git.changed_paths(where.top, commit):
        path = (where.top / gpath).relative_to(where.root).as_posix()
        old = _blob(where.top, f"{commit}^", gpath)
        new = _blob(where.top, commit, gpath) or b""
        files.append(ChangedFile(path=path, sha256_before=sha256_of(old),
                                 sha256_after=sha256_of(new) or ""))  # fmt: skip
        if old is not None:
            before[path] = old
    change = _change_from_message(git.message(where.top, commit), change_id, commit, files)
    store.record_change(where.state_dir, change, before)
    return change


def _blob(top: Path, commit: str, gpath: str) -> bytes | None:
    entry = git.tree_entry(top, commit, gpath)
    return git.read_blob(top, entry.sha) if entry else None


def _change_from_message(
    message: str, change_id: str, commit: str, files: list[ChangedFile]
) -> Change:
    def field(name: str) -> str:
        found = re.search(rf"^{name}: (.*)$", message, re.MULTILINE)
        return found.group(1).strip() if found else ""

    rank = re.match(r"#(\d+) ", field("Hypothesis"))
    return Change(
        id=change_id,
        analysis_id=field("Analysis") or "unknown",
        hypothesis_rank=int(rank.group(1)) if rank else 0,
        hypothesis_title=message.splitlines()[0].removeprefix("Refinery: ") if message else "",
        expected=field("Expected"),
        files=tuple(files),
        commit=commit,
        created_at=datetime.now(UTC),
        undo_command=f"refinery undo {change_id}",
    )


def _undo_problems(change: Change, where: transaction.Where, head: str | None) -> list[str]:
    """Every reason not to undo ``change``; empty when it is safe."""
    top = where.top
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
        where_to = ", ".join(pushed)
        problems.append(f"commit {short} has been pushed to {where_to}: use `git revert` instead")
    for file in change.files:
        problems.extend(_file_undo_problems(change, file, where, head))
    return problems


def _file_undo_problems(
    change: Change, file: ChangedFile, where: transaction.Where, head: str | None
) -> list[str]:
    target = where.root / file.path
    current = target.read_bytes() if target.is_file() else None
    if sha256_of(current) != file.sha256_after:
        return [
            f"{file.path} changed since the change (its content differs from what Refinery wrote)"
        ]
    gpath = target.relative_to(where.top).as_posix()
    committed = git.tree_entry(where.top, change.commit, gpath)
    if head is not None and git.tree_entry(where.top, head, gpath) != committed:
        return [f"{file.path} was committed again since the change"]
    if git.index_entry(where.top, gpath) != committed:
        return [f"{file.path} has staged changes: commit or unstage them first"]
    before = store.load_before(where.state_dir, change, file.path)
    if file.sha256_before is not None and sha256_of(before) != file.sha256_before:
        return [f"the saved copy of {file.path} from before the change is missing or damaged"]
    return []


def _undo_message(change: Change) -> str:
    return (
        f"Refinery undo: {' '.join(change.hypothesis_title.split())}\n\n"
        f"Reverts {change.commit} (change {change.id}, analysis {change.analysis_id}).\n\n"
        f"{git.UNDO_TRAILER}: {change.id}\n"
    )
