"""Validation of a prepared change: where it may write and whether the new text still holds up.

Two kinds of check, both returning problems (one line each, empty when fine) so that a refusal
can name every one: *where* (inside the repository once symlinks are resolved, never inside
``.git``, and one of the project's context files) and *what* (Python still parses and keeps its
top-level names, JSON/YAML/TOML still parse, the file stays under the size limit).
"""

from __future__ import annotations

import ast
import json
import tomllib
from collections.abc import Callable, Collection
from pathlib import Path

import yaml

DEFAULT_MAX_BYTES = 1_000_000


def resolve_target(repo_root: Path, file: str) -> tuple[Path | None, str | None]:
    """The real path of ``file`` and a problem; the path is None when it lies outside the repo."""
    root = repo_root.resolve()
    if not file.strip() or Path(file).is_absolute():
        return None, f"{file or '(empty path)'}: not a path relative to the repository root"
    target = (root / file).resolve()
    if not target.is_relative_to(root):
        return None, f"{file}: outside the repository {root}"
    if ".git" in target.relative_to(root).parts:
        return None, f"{file}: inside .git, which Refinery never writes"
    return target, None


def check_allowed(
    repo_root: Path, target: Path, allowed_files: Collection[str] | None
) -> str | None:
    """A problem when ``target`` is not one of ``allowed_files`` (None allows every file)."""
    if allowed_files is None:
        return None
    root = repo_root.resolve()
    allowed = {(root / name).resolve() for name in allowed_files}
    if target in allowed:
        return None
    rel = target.relative_to(root).as_posix()
    return f"{rel}: not one of the project's context files: add it with --add-prompt/--add-eval"


def check_content(path: str, before: bytes | None, after: bytes, *, max_bytes: int) -> list[str]:
    """Problems with writing ``after`` over ``before`` (None for a new file) at ``path``."""
    if len(after) > max_bytes:
        return [f"{path}: would be {len(after):,} bytes, over the {max_bytes:,}-byte limit"]
    try:
        new_text = after.decode("utf-8")
    except UnicodeDecodeError:
        return [f"{path}: the new content is not UTF-8 text"]
    old_text = before.decode("utf-8", errors="replace") if before is not None else None
    suffix = Path(path).suffix.lower()
    if suffix in (".py", ".pyi"):
        return _check_python(path, old_text, new_text)
    if suffix not in _PARSERS:
        return []
    kind, parser = _PARSERS[suffix]
    return _check_parses(path, old_text, new_text, kind, parser)


def top_level_names(tree: ast.Module) -> set[str]:
    """Names a module defines at top level: functions, classes and assignment targets."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(n for t in node.targets for n in _target_names(t))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            names.update(_target_names(node.target))
    return names


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for elt in target.elts for n in _target_names(elt)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


def _parse_python(text: str) -> ast.Module | SyntaxError:
    try:
        return ast.parse(text)
    except SyntaxError as exc:
        return exc


def _check_python(path: str, old_text: str | None, new_text: str) -> list[str]:
    new = _parse_python(new_text)
    if isinstance(new, SyntaxError):
        return [f"{path}: no longer parses as Python (line {new.lineno}: {new.msg})"]
    old = _parse_python(old_text) if old_text is not None else None
    if not isinstance(old, ast.Module):
        return []
    lost = sorted(top_level_names(old) - top_level_names(new))
    if lost:
        return [
            f"{path}: removes or renames top-level name(s) {', '.join(lost)}: a breaking change"
        ]
    return []


def _json_lines(text: str) -> None:
    for line in text.splitlines():
        if line.strip():
            json.loads(line)


def _yaml(text: str) -> object:
    return list(yaml.safe_load_all(text))


_PARSERS: dict[str, tuple[str, Callable[[str], object]]] = {
    ".json": ("JSON", json.loads),
    ".jsonl": ("JSONL", _json_lines),
    ".yaml": ("YAML", _yaml),
    ".yml": ("YAML", _yaml),
    ".toml": ("TOML", tomllib.loads),
}


def _check_parses(
    path: str, old_text: str | None, new_text: str, kind: str, parser: Callable[[str], object]
) -> list[str]:
    error = _parse_error(parser, new_text)
    if error is None:
        return []
    if old_text is not None and _parse_error(parser, old_text) is not None:
        return []  # it did not parse before either: the edit breaks nothing that worked
    return [f"{path}: no longer parses as {kind} ({error})"]


def _parse_error(parser: Callable[[str], object], text: str) -> str | None:
    try:
        parser(text)
    except (ValueError, yaml.YAMLError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None
