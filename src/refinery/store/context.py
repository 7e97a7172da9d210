"""A project's context: the prompt, eval and config files it is repaired through, saved across runs.

The first analysis of a project with files saves them in ``.refinery/context.json`` (as paths
relative to the repository root); later runs reuse them with no flags; ``add``, ``remove`` and
``update`` change them; ``--extract-from-trace`` adds files extracted from the trace beside the
user's own. Paths given by the user must lead to readable files inside the repository (symlinks
resolved); saved files that have since vanished are reported as ``missing`` and dropped. How the
file itself is kept safe (lock, atomic replace, backups, never overwriting a corrupt file) lives in
``context_file.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..config import Settings
from ..errors import InputError
from .context_file import (
    STORE_VERSION,
    ContextFiles,
    ContextStore,
    FileKind,
    ProjectContext,
    locked,
    read_store,
    write_store,
)
from .paths import check_project_name

_FROZEN = ConfigDict(frozen=True, extra="forbid")

__all__ = [
    "STORE_VERSION",
    "ContextAdditions",
    "ContextFileStatus",
    "ContextStore",
    "FileKind",
    "ProjectContext",
    "ProjectDescription",
    "ProjectSummary",
    "ResolvedContext",
    "clear_project",
    "describe_project",
    "list_projects",
    "load_contexts",
    "read_context_file",
    "resolve_context",
]


class ContextAdditions(ContextFiles):
    """Files to add to a project's context, such as those extracted from a trace."""


class ResolvedContext(BaseModel):
    """The context an analysis uses, and what happened while resolving it."""

    model_config = _FROZEN

    context: ProjectContext
    """The files to use (also what is now saved, when ``saved``)."""
    missing: tuple[str, ...] = ()
    """Saved files that no longer exist: dropped from the context."""
    warnings: tuple[str, ...] = ()
    """Other things the user should know (a removed file that was not in the context...)."""
    saved: bool = False
    """True when ``context.json`` was written."""
    created: bool = False
    """True when this run saved the project's context for the first time."""


class ContextFileStatus(BaseModel):
    """One file of a project's context, checked now."""

    model_config = _FROZEN

    path: str
    """Relative to the repository root."""
    kind: FileKind
    """Prompt, eval or config."""
    exists: bool
    """False when the file has vanished since it was saved."""
    extracted: bool
    """True when Refinery extracted it from a trace."""


class ProjectDescription(BaseModel):
    """A project's saved context with each file checked: ``refinery context --project``."""

    model_config = _FROZEN

    name: str
    """The project's name."""
    files: tuple[ContextFileStatus, ...]
    """Every file, prompts first."""
    created: datetime
    """When the context was first saved."""
    last_used: datetime
    """When an analysis last used it."""


class ProjectSummary(BaseModel):
    """One line of ``refinery context --list``."""

    model_config = _FROZEN

    name: str
    """The project's name."""
    prompt_files: int
    """Number of prompt files."""
    eval_files: int
    """Number of eval files."""
    config_files: int
    """Number of config files."""
    missing_files: int
    """Files that no longer exist."""
    last_used: datetime
    """When an analysis last used the context."""


@dataclass(frozen=True, kw_only=True)
class _Request:
    """One run's changes, already validated and made relative to the repository root."""

    given: dict[FileKind, tuple[str, ...]]
    removed: dict[FileKind, tuple[str, ...]]
    extracted: tuple[str, ...]
    update: bool


def load_contexts(settings: Settings) -> dict[str, ProjectContext]:
    """Every saved project context; empty when nothing was saved yet.

    Raises:
        ConfigError: ``context.json`` is corrupt or was edited into an invalid shape.
    """
    return dict(read_store(settings).projects)


def resolve_context(
    settings: Settings,
    project: str,
    *,
    prompt_files: Sequence[str] = (),
    eval_files: Sequence[str] = (),
    config_files: Sequence[str] = (),
    add_prompts: Sequence[str] = (),
    add_evals: Sequence[str] = (),
    remove_prompts: Sequence[str] = (),
    remove_evals: Sequence[str] = (),
    update: bool = False,
    extracted: ContextAdditions | None = None,
    cwd: Path | None = None,
) -> ResolvedContext:
    """The context this run uses: saved files, changed by this run's flags, then saved again.

    Files given this run (``*_files``, ``add_*`` and ``extracted``) join the saved lists; with
    ``update`` they replace the saved list of their kind instead (kinds not given are kept).
    ``remove_*`` drop files. Saved files that vanished are reported in ``missing`` and dropped.
    Relative paths given this run are read from ``cwd`` (default: the repository root).

    Raises:
        InputError: a bad project name, or a given path outside the repository or unreadable.
        ConfigError: ``context.json`` is corrupt, or its lock is held too long.
    """
    check_project_name(project)
    flagged = {
        FileKind.PROMPT: (*prompt_files, *add_prompts),
        FileKind.EVAL: (*eval_files, *add_evals),
        FileKind.CONFIG: tuple(config_files),
    }
    removed = {FileKind.PROMPT: remove_prompts, FileKind.EVAL: remove_evals, FileKind.CONFIG: ()}
    extras = extracted or ContextAdditions()
    request = _request(settings, cwd or settings.repo_root, flagged, removed, extras, update)
    with locked(settings):
        store = read_store(settings)
        return _apply(settings, store, project, request)


def _request(
    settings: Settings,
    base: Path,
    flagged: Mapping[FileKind, Sequence[str]],
    removed: Mapping[FileKind, Sequence[str]],
    extras: ContextAdditions,
    update: bool,
) -> _Request:
    """Validate this run's paths and make them relative to the repository root."""
    from_trace = {
        kind: _existing(settings, settings.repo_root, extras.files(kind)) for kind in FileKind
    }
    return _Request(
        given={
            kind: _unique((*_existing(settings, base, flagged[kind]), *from_trace[kind]))
            for kind in FileKind
        },
        removed={kind: _relative_all(settings, base, removed[kind]) for kind in FileKind},
        extracted=tuple(p for kind in FileKind for p in from_trace[kind]),
        update=update,
    )


def list_projects(settings: Settings) -> tuple[ProjectSummary, ...]:
    """Every saved project, most recently used first."""
    summaries = [
        ProjectSummary(
            name=ctx.name,
            prompt_files=len(ctx.prompt_files),
            eval_files=len(ctx.eval_files),
            config_files=len(ctx.config_files),
            missing_files=sum(not _is_file(settings, p) for p in ctx.all_files),
            last_used=ctx.last_used,
        )
        for ctx in read_store(settings).projects.values()
    ]
    return tuple(sorted(summaries, key=lambda s: s.last_used, reverse=True))


def describe_project(settings: Settings, name: str) -> ProjectDescription:
    """One project's files, each marked as existing or missing."""
    ctx = _project(read_store(settings), check_project_name(name))
    files = tuple(
        ContextFileStatus(
            path=path,
            kind=kind,
            exists=_is_file(settings, path),
            extracted=path in ctx.extracted_files,
        )
        for kind in FileKind
        for path in ctx.files(kind)
    )
    return ProjectDescription(
        name=ctx.name, files=files, created=ctx.created, last_used=ctx.last_used
    )


def clear_project(settings: Settings, name: str) -> ProjectContext:
    """Forget a project's saved context and return it; files on disk are left alone."""
    check_project_name(name)
    with locked(settings):
        store = read_store(settings)
        removed = _project(store, name)
        kept = {key: ctx for key, ctx in store.projects.items() if key != name}
        write_store(settings, store.model_copy(update={"projects": kept}))
    return removed


# -- merging ------------------------------------------------------------------------------------


def _apply(
    settings: Settings, store: ContextStore, project: str, request: _Request
) -> ResolvedContext:
    saved = store.projects.get(project)
    now = datetime.now(UTC)
    lists, missing, warnings = _merge(settings, saved, request, project)
    context = ProjectContext(
        name=project,
        prompt_files=lists[FileKind.PROMPT],
        eval_files=lists[FileKind.EVAL],
        config_files=lists[FileKind.CONFIG],
        extracted_files=_kept_extracted(saved, request, lists),
        created=saved.created if saved else now,
        last_used=now,
    )
    if saved is None and not context.all_files:
        return ResolvedContext(context=context, missing=missing, warnings=tuple(warnings))
    projects = {**store.projects, project: context}
    write_store(settings, store.model_copy(update={"projects": projects}))
    return ResolvedContext(
        context=context,
        missing=missing,
        warnings=tuple(warnings),
        saved=True,
        created=saved is None,
    )


def _merge(
    settings: Settings, saved: ProjectContext | None, request: _Request, project: str
) -> tuple[dict[FileKind, tuple[str, ...]], tuple[str, ...], list[str]]:
    """The merged file lists (vanished files dropped), the vanished files, and warnings."""
    lists: dict[FileKind, tuple[str, ...]] = {}
    warnings: list[str] = []
    for kind in FileKind:
        lists[kind], problems = _merge_kind(
            saved.files(kind) if saved else (), request, kind, project
        )
        warnings.extend(problems)
    missing = tuple(p for kind in FileKind for p in lists[kind] if not _is_file(settings, p))
    lists = {kind: tuple(p for p in paths if p not in missing) for kind, paths in lists.items()}
    warnings.extend(_general_warnings(saved, request, lists, project))
    return lists, missing, warnings


def _merge_kind(
    saved: tuple[str, ...], request: _Request, kind: FileKind, project: str
) -> tuple[tuple[str, ...], list[str]]:
    given = request.given[kind]
    combined = given if request.update and given else _unique((*saved, *given))
    removed = request.removed[kind]
    warnings = [
        f"{path} is not a {kind.value} file of project {project}: nothing to remove"
        for path in removed
        if path not in combined
    ]
    return tuple(p for p in combined if p not in removed), warnings


def _general_warnings(
    saved: ProjectContext | None,
    request: _Request,
    lists: dict[FileKind, tuple[str, ...]],
    project: str,
) -> list[str]:
    warnings: list[str] = []
    if request.update and not any(request.given.values()):
        warnings.append("--update was given without files: the saved context is kept")
    if not any(lists.values()):
        state = "has no files left in its context" if saved else "has no saved context"
        warnings.append(
            f"project {project} {state}: give --prompt-files, --eval-files, --config-files "
            "or --extract-from-trace"
        )
    return warnings


def _kept_extracted(
    saved: ProjectContext | None, request: _Request, lists: dict[FileKind, tuple[str, ...]]
) -> tuple[str, ...]:
    in_context = {p for paths in lists.values() for p in paths}
    earlier = saved.extracted_files if saved else ()
    return tuple(p for p in _unique((*earlier, *request.extracted)) if p in in_context)


def _unique(paths: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(paths))


def _project(store: ContextStore, name: str) -> ProjectContext:
    if name in store.projects:
        return store.projects[name]
    known = ", ".join(sorted(store.projects)) or "none yet"
    raise InputError(
        f"project {name!r} has no saved context (saved projects: {known})",
        "list them with: refinery context --list",
    )


# -- paths --------------------------------------------------------------------------------------


def _existing(settings: Settings, base: Path, given: Sequence[str]) -> tuple[str, ...]:
    """Given paths made relative to the repository root, each checked to be a readable file."""
    relative = _relative_all(settings, base, given)
    for original, path in zip(given, relative, strict=True):
        _check_readable(settings.repo_root / path, original)
    return _unique(relative)


def _relative_all(settings: Settings, base: Path, given: Sequence[str]) -> tuple[str, ...]:
    return tuple(_repo_relative(settings.repo_root, base, path) for path in given)


def _repo_relative(root: Path, base: Path, given: str) -> str:
    """``given`` (absolute, or relative to ``base``) as a POSIX path relative to ``root``.

    Symlinks are resolved to check that the file really is inside ``root``; the path is kept by
    the name the user gave when that name leads to the same file.
    """
    text = given.strip()
    if not text:
        raise InputError("a context file path is empty", "remove the stray comma in the file list")
    candidate = Path(text).expanduser()
    absolute = Path(os.path.normpath(candidate if candidate.is_absolute() else base / candidate))
    real_root = root.resolve()
    real = absolute.resolve()
    if not real.is_relative_to(real_root) or real == real_root:
        raise InputError(
            f"{given}: outside the repository {root}",
            "context files must be files inside the repository Refinery works in",
        )
    for anchor in (root, real_root):
        if not absolute.is_relative_to(anchor):
            continue
        relative = absolute.relative_to(anchor)
        if (root / relative).resolve() == real:
            return relative.as_posix()
    return real.relative_to(real_root).as_posix()


def _check_readable(path: Path, original: str) -> None:
    if not path.exists():
        raise InputError(f"{original}: no such file", "check the path and its spelling")
    if not path.is_file():
        raise InputError(f"{original}: not a file", "give files, not directories")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise InputError(
            f"{original}: cannot be read ({exc.strerror})", "check its permissions"
        ) from exc


def read_context_file(settings: Settings, path: str) -> bytes:
    """The bytes of saved context file ``path``, checked again at this read, not only at save.

    A file saved earlier may since have become a symlink to something outside the repository
    (``~/.ssh/id_rsa``); its content must never reach an analysis or an LLM.

    Raises:
        InputError: the path now leads outside the repository, is not a regular file, or cannot
            be read.
    """
    root = settings.repo_root.resolve()
    real = (root / path).resolve()
    if not real.is_relative_to(root) or real == root:
        raise InputError(
            f"{path}: now leads outside the repository (to {real}): refused, nothing was read",
            "replace the link with the file itself, or drop it from the project with "
            "--remove-prompt/--remove-eval or refinery context --clear",
        )
    if not real.is_file():
        raise InputError(f"{path}: not a regular file any more", "check the path")
    try:
        return real.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}", "check the file") from exc


def _is_file(settings: Settings, path: str) -> bool:
    return (settings.repo_root / path).is_file()
