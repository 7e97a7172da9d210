"""``.refinery/context.json`` on disk: its format, and reading and replacing it safely.

The file is precious (the user named those files once and expects Refinery to remember), so it is
handled like a small database:

- every change is a read-modify-write under ``.refinery/context.lock`` (``locked``), so concurrent
  Refinery processes never lose each other's changes, and the new content replaces the old
  atomically (temp file, fsync, ``os.replace``), so a crash never leaves half a file;
- a file that does not parse or validate, including a hand edit into an invalid shape, is a
  ConfigError naming the file and the remedy, and is never rewritten; before any rewrite the
  previous content is copied to ``context.json.bak-<timestamp>`` (the newest five are kept).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from ..atomic import write_atomic
from ..config import Settings
from ..errors import ConfigError, InputError
from .paths import check_project_name, context_file, context_lock_file

STORE_VERSION = 1
_LOCK_TIMEOUT_SECONDS = 30.0
_KEEP_BACKUPS = 5
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class FileKind(StrEnum):
    """What a context file is to the agent."""

    PROMPT = "prompt"
    EVAL = "eval"
    CONFIG = "config"


def _check_relative(paths: tuple[str, ...]) -> tuple[str, ...]:
    for path in paths:
        pure = PurePosixPath(path)
        if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
            raise ValueError(f"{path!r} is not a path relative to the repository root")
    return paths


class ContextFiles(BaseModel):
    """A project's prompt, eval and config files, paths relative to the repository root."""

    model_config = _FROZEN

    prompt_files: tuple[str, ...] = ()
    """Prompt files, relative to the repository root."""
    eval_files: tuple[str, ...] = ()
    """Eval files, relative to the repository root."""
    config_files: tuple[str, ...] = ()
    """Config files, relative to the repository root."""

    def files(self, kind: FileKind) -> tuple[str, ...]:
        """The files of one kind."""
        return {
            FileKind.PROMPT: self.prompt_files,
            FileKind.EVAL: self.eval_files,
            FileKind.CONFIG: self.config_files,
        }[kind]


class ProjectContext(ContextFiles):
    """One project's saved files, as stored in ``context.json``."""

    name: str
    """The project's name (also its directory name under ``.refinery/projects/``)."""
    extracted_files: tuple[str, ...] = ()
    """Those of the files above that Refinery extracted from traces (``--extract-from-trace``)."""
    created: datetime
    """When the context was first saved."""
    last_used: datetime
    """When an analysis last used it."""

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        try:
            return check_project_name(name)
        except InputError as exc:
            raise ValueError(exc.message) from exc

    @field_validator("prompt_files", "eval_files", "config_files", "extracted_files")
    @classmethod
    def _relative_paths(cls, paths: tuple[str, ...]) -> tuple[str, ...]:
        return _check_relative(paths)

    @property
    def all_files(self) -> tuple[str, ...]:
        """Prompt, eval and config files, in that order."""
        return (*self.prompt_files, *self.eval_files, *self.config_files)


class ContextStore(BaseModel):
    """The whole of ``context.json``: a format version and every project's context."""

    model_config = _FROZEN

    version: int
    """The file format's version; this Refinery reads and writes version 1."""
    projects: dict[str, ProjectContext] = {}
    """Saved contexts by project name."""

    @model_validator(mode="after")
    def _consistent(self) -> ContextStore:
        if self.version != STORE_VERSION:
            raise ValueError(
                f"format version {self.version} is not supported (this Refinery reads version "
                f"{STORE_VERSION})"
            )
        for key, project in self.projects.items():
            if key != project.name:
                raise ValueError(f"project key {key!r} differs from its name {project.name!r}")
        return self


@contextmanager
def locked(settings: Settings) -> Iterator[None]:
    """Hold ``.refinery/context.lock`` for a read-modify-write of ``context.json``."""
    from filelock import FileLock, Timeout

    lock_path = context_lock_file(settings)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(lock_path), timeout=_LOCK_TIMEOUT_SECONDS):
            yield
    except Timeout as exc:
        raise ConfigError(
            f"{_shown(settings, lock_path)}: another Refinery process has held it for "
            f"{_LOCK_TIMEOUT_SECONDS:.0f}s",
            "wait for it to finish, or delete the lock file if no Refinery is running",
        ) from exc


def read_store(settings: Settings) -> ContextStore:
    """The parsed ``context.json``; an empty store when there is none yet.

    Raises:
        ConfigError: the file cannot be read, is not JSON, or does not validate.
    """
    path = context_file(settings)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ContextStore(version=STORE_VERSION)
    except OSError as exc:
        raise ConfigError(
            f"{_shown(settings, path)}: cannot be read ({exc.strerror})", "check its permissions"
        ) from exc
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(settings, path, _json_problem(exc)) from exc
    if not isinstance(raw, dict):
        raise _corrupt(settings, path, "expected a JSON object with 'version' and 'projects'")
    try:
        return ContextStore.model_validate(raw)
    except ValidationError as exc:
        raise _corrupt(settings, path, _validation_problem(exc)) from exc


def _json_problem(exc: UnicodeDecodeError | json.JSONDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return f"invalid JSON at line {exc.lineno} ({exc.msg})"


def _validation_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "top level"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def _corrupt(settings: Settings, path: Path, problem: str) -> ConfigError:
    backups = _backups(path)
    restore = f", restore the backup {_shown(settings, backups[-1])}" if backups else ""
    return ConfigError(
        f"{_shown(settings, path)} is not a valid context file: {problem}",
        f"fix it by hand{restore}, or move it away to start over (Refinery will not overwrite it)",
    )


def write_store(settings: Settings, store: ContextStore) -> None:
    """Back up the current ``context.json``, then replace it atomically with ``store``."""
    path = context_file(settings)
    if path.exists():
        _back_up(path)
    text = json.dumps(store.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    write_atomic(path, text.encode("utf-8"))


def _back_up(path: Path) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    shutil.copy2(path, path.with_name(f"{path.name}.bak-{stamp}"))
    for old in _backups(path)[:-_KEEP_BACKUPS]:
        old.unlink(missing_ok=True)


def _backups(path: Path) -> list[Path]:
    """Backups of ``path``, oldest first (the timestamp sorts lexically)."""
    return sorted(path.parent.glob(f"{path.name}.bak-*"))


def _shown(settings: Settings, path: Path) -> str:
    """A path as the user sees it: relative to the repository when inside it."""
    try:
        return path.relative_to(settings.repo_root).as_posix()
    except ValueError:
        return str(path)
