"""Git, through the ``git`` command: one commit per change that holds only Refinery's edits.

Commits are built with plumbing rather than ``git add``/``git commit``: a temporary index starts
from HEAD's tree, takes the new blob of each changed file, and becomes a tree and a commit; HEAD
then moves with a compare-and-swap ``update-ref``. Whatever the user has staged or left unstaged
elsewhere stays exactly where it was, and with ``--allow-dirty`` the committed blob is HEAD's
version plus Refinery's edit, so the user's own uncommitted hunks in that file are never committed.
Commit hooks do not run (``commit-tree``). Paths here are relative to the repository's top level.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ApplyRefused, ConfigError

CHANGE_TRAILER = "Refinery-Change"
UNDO_TRAILER = "Refinery-Undo"
REGULAR = "100644"


@dataclass(frozen=True, kw_only=True)
class Entry:
    """A file as git stores it in a tree or the index."""

    mode: str
    """``100644``, ``100755`` or ``120000``."""
    sha: str
    """The blob's object id."""


class GitError(ApplyRefused):
    """A git command failed or could not start; the message quotes git's own reason."""


def _git(
    root: Path, *args: str, data: bytes | None = None, env: Mapping[str, str] | None = None
) -> str:
    result = _run(root, *args, data=data, env=env)
    if result.returncode != 0:
        raise GitError(f"git {args[0]} failed in {root}: {_reason(result.stderr)}")
    return result.stdout.decode("utf-8", errors="surrogateescape")


def _reason(stderr: bytes) -> str:
    """The last line of git's error; a held lock file is named as what it is."""
    lines = stderr.decode(errors="replace").strip().splitlines() or ["no message"]
    locked = next((line for line in lines if ".lock': File exists" in line), None)
    if locked is None:
        return lines[-1]
    lock = locked.split("'")[1] if locked.count("'") >= 2 else "a .lock file"
    return f"another git process is using the repository ({lock} exists)"


def _run(
    root: Path, *args: str, data: bytes | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, **(env or {}), "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args], input=data, capture_output=True, env=full_env
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed", "install git to apply and undo changes") from exc
    except OSError as exc:  # EAGAIN/ENOMEM when forking: the system is out of processes or memory
        raise GitError(
            f"cannot start git ({exc.strerror or exc})",
            "the system is short of processes or memory: close some programs and run it again",
        ) from exc


def toplevel(root: Path) -> Path:
    """The top of the git work tree holding ``root``; refuses when there is none."""
    result = _run(root, "rev-parse", "--show-toplevel")
    if result.returncode != 0:
        raise ApplyRefused(
            f"{root} is not a git repository",
            "run `git init` and commit your files first, so every change can be undone",
        )
    return Path(result.stdout.decode().strip()).resolve()


def check_identity(root: Path) -> None:
    """Refuse (ConfigError) when git cannot name the author and committer of a commit."""
    for who in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
        if _run(root, "var", who).returncode != 0:
            raise ConfigError(
                "git does not know who you are, so Refinery cannot commit a fix",
                'set it with: git config user.name "Your Name" && '
                "git config user.email you@example.com (add --global for every repository)",
            )


def index_lock(root: Path) -> Path | None:
    """The index's lock file when another git process holds it, else None."""
    lock = Path(_git(root, "rev-parse", "--git-path", "index.lock").strip())
    lock = lock if lock.is_absolute() else root / lock
    return lock if lock.exists() else None


def head(root: Path) -> str | None:
    """HEAD's commit id, or None in a repository without commits."""
    result = _run(root, "rev-parse", "--verify", "-q", "HEAD^{commit}")
    return result.stdout.decode().strip() if result.returncode == 0 else None


def resolve_commit(root: Path, rev: str) -> str | None:
    """The full id of the commit ``rev`` names, or None."""
    if rev.startswith("-"):
        return None
    result = _run(root, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}")
    return result.stdout.decode().strip() if result.returncode == 0 else None


def tree_entry(root: Path, commit: str, path: str) -> Entry | None:
    """``path`` in ``commit``'s tree, or None when it is not there."""
    out = _git(root, "ls-tree", "-z", "--full-tree", commit, "--", path)
    for record in out.split("\0"):
        meta, _, name = record.partition("\t")
        if name == path:
            mode, _, sha = meta.split(" ")
            return Entry(mode=mode, sha=sha)
    return None


def index_entry(root: Path, path: str) -> Entry | None:
    """``path`` in the index (stage 0), or None when it is not there."""
    out = _git(root, "ls-files", "-s", "-z", "--full-name", "--", f":(top){path}")
    for record in out.split("\0"):
        meta, _, name = record.partition("\t")
        if name == path and meta:
            mode, sha, _ = meta.split(" ")
            return Entry(mode=mode, sha=sha)
    return None


def dirty_paths(root: Path, paths: Sequence[str]) -> set[str]:
    """Those of ``paths`` with uncommitted changes, staged or not (untracked files included)."""
    if not paths:
        return set()
    specs = [f":(top,literal){path}" for path in paths]
    out = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *specs)
    records = [record for record in out.split("\0") if record]
    return {record[3:] for record in records if len(record) > 3} & set(paths)


def read_blob(root: Path, sha: str) -> bytes:
    """A blob's raw bytes."""
    result = _run(root, "cat-file", "blob", sha)
    if result.returncode != 0:
        raise GitError(f"git cat-file failed in {root}: cannot read blob {sha}")
    return result.stdout


def write_blob(root: Path, data: bytes) -> str:
    """Store ``data`` as a blob, byte for byte (no filters), and return its id."""
    return _git(root, "hash-object", "-w", "--no-filters", "--stdin", data=data).strip()


def create_commit(
    root: Path, parent: str, entries: Mapping[str, Entry | None], message: str
) -> str:
    """A commit of ``parent``'s tree with ``entries`` replaced (None removes); HEAD is not moved."""
    with tempfile.TemporaryDirectory(prefix="refinery-index-") as folder:
        env = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
        _git(root, "read-tree", parent, env=env)
        _git(root, "update-index", "-z", "--index-info", data=_index_info(entries, parent), env=env)
        tree = _git(root, "write-tree", env=env).strip()
    return _git(root, "commit-tree", tree, "-p", parent, "-F", "-", data=message.encode()).strip()


def advance_head(root: Path, new: str, old: str, reason: str) -> None:
    """Move HEAD (and its branch) from ``old`` to ``new``; refuses if HEAD moved meanwhile."""
    _git(root, "update-ref", "-m", reason, "HEAD", new, old)


def set_index(root: Path, entries: Mapping[str, Entry | None], like: str) -> None:
    """Point the real index at ``entries`` (None removes), then refresh its stat data."""
    if entries:
        _git(root, "update-index", "-z", "--index-info", data=_index_info(entries, like))
        _run(root, "update-index", "-q", "--refresh")


def _index_info(entries: Mapping[str, Entry | None], like: str) -> bytes:
    zero = "0" * len(like)
    lines = [
        f"{entry.mode} {entry.sha}\t{path}" if entry else f"0 {zero}\t{path}"
        for path, entry in entries.items()
    ]
    return "".join(f"{line}\0" for line in lines).encode("utf-8", errors="surrogateescape")


def trailer(root: Path, commit: str, key: str) -> str | None:
    """The value of trailer ``key`` in ``commit``'s message, or None."""
    out = _git(root, "log", "-1", f"--format=%(trailers:key={key},valueonly)", commit, "--")
    value = out.strip().splitlines()
    return value[0].strip() if value else None


def is_ancestor(root: Path, commit: str, descendant: str) -> bool:
    """True when ``commit`` is in ``descendant``'s history."""
    return _run(root, "merge-base", "--is-ancestor", commit, descendant).returncode == 0


def remote_branches_containing(root: Path, commit: str) -> list[str]:
    """Remote-tracking branches that contain ``commit`` (it has been pushed when any do)."""
    out = _git(root, "branch", "-r", "--format=%(refname:short)", "--contains", commit)
    return [line.strip() for line in out.splitlines() if line.strip()]


def changed_paths(root: Path, commit: str) -> list[str]:
    """The paths ``commit`` changes against its first parent."""
    out = _git(root, "diff-tree", "-r", "-z", "--no-commit-id", "--name-only", commit, "--")
    return [path for path in out.split("\0") if path]


def message(root: Path, commit: str) -> str:
    """``commit``'s full message."""
    return _git(root, "log", "-1", "--format=%B", commit, "--")
