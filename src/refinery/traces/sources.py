"""Where traces come from: a file whose format is detected from its content, or a service by id.

Formats register a cheap ``detect(doc)`` and a ``parse(doc, origin)``; the first format whose
``detect`` accepts the parsed JSON wins. Remote sources (LangSmith, Langfuse) register a fetcher by
name. Built-ins register on first use, as plugins from the ``refinery.formats`` entry-point group
do.

One file may hold several traces (a list of tau-bench trajectories, OTLP spans of several trace
ids). A format that can hold several says so with ``split(doc)``; they are never merged silently:
``FILE#N`` (0-based) picks one, and without it such a file is refused with the choices named. The
suffix is only read as a selector when the path with it does not exist and the path without it does.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..config import DEFAULT_MAX_TRACE_BYTES, Settings
from ..errors import InputError
from ..gcpause import paused_gc
from ..progress import OnProgress, ProgressEvent, no_progress
from .model import Trace
from .reading import (
    may_hold_surrogates,
    read_trace_bytes,
    replace_in_trace,
    replace_surrogates,
    surrogate_warning,
    with_warnings,
)

_BUILTIN_FORMAT_MODULES = (
    "langsmith",
    "otlp",
    "spantree",
    "langfuse",
    "openai_agents",
    "pydantic_ai",
    "smolagents",
    "sweagent",
    "transcript",
)
UNDERSTOOD_SHAPES = (
    "LangSmith runs, OTLP resourceSpans, span-tree spans, Langfuse observations, OpenAI Agents SDK "
    "trace items, pydantic-ai message history, smolagents memory steps, SWE-agent .traj, "
    "tau-bench/tau2-bench results and chat messages (OpenAI, Anthropic, Gemini, Who&When history)"
)
_BUILTIN_FETCHER_MODULES = ("langsmith_fetch", "langfuse_fetch")
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
_HEX_ID = re.compile(r"^[0-9a-fA-F]{32}$")
_SELECTOR = re.compile(r"^(?P<path>.+)#(?P<index>[0-9]+)$", re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class TraceFormat:
    """A file format: a cheap content test and a parser."""

    name: str
    """The format's name as reported in ``trace.format``."""
    detect: Callable[[Any], bool]
    """True when the parsed JSON document looks like this format."""
    parse: Callable[[Any, str], Trace]
    """Turn the document (and its origin, for messages) into a Trace."""
    split: Callable[[Any], list[tuple[str, Any]]] | None = None
    """The traces a document holds as ``(label, document)`` pairs; None when it holds one."""


Fetcher = Callable[[str, Settings, OnProgress], Trace]

_FORMATS: list[TraceFormat] = []
_FETCHERS: dict[str, Fetcher] = {}
_loaded = False


def register_format(fmt: TraceFormat) -> TraceFormat:
    """Add a file format to the registry."""
    _FORMATS.append(fmt)
    return fmt


def fetcher(name: str) -> Callable[[Fetcher], Fetcher]:
    """Register a remote source (``langsmith``, ``langfuse``) by name."""

    def register(fn: Fetcher) -> Fetcher:
        _FETCHERS[name] = fn
        return fn

    return register


def formats() -> list[TraceFormat]:
    """Every registered file format, built-ins first."""
    _load_plugins()
    return list(_FORMATS)


def load_trace(
    ref: str | Path,
    settings: Settings | None = None,
    *,
    source: str | None = None,
    on_progress: OnProgress = no_progress,
) -> Trace:
    """Load a trace from a file path or, for an id, from LangSmith (default) or Langfuse.

    Args:
        ref: a path to a trace file, or a trace or run id.
        settings: keys and cache settings for remote sources.
        source: ``file``, ``langsmith`` or ``langfuse``; guessed from ``ref`` when None.
        on_progress: receives progress for fetches and big files.
    """
    from ..config import load_settings

    settings = settings or load_settings()
    _load_plugins()
    text = str(ref)
    chosen = source or _guess_source(text)
    if chosen == "file":
        path, index = split_selector(text)
        return load_trace_file(
            Path(path), on_progress=on_progress, select=index, max_bytes=settings.max_trace_bytes
        )
    if chosen not in _FETCHERS:
        raise InputError(
            f"unknown trace source {chosen!r}", f"use one of: file, {', '.join(sorted(_FETCHERS))}"
        )
    return _FETCHERS[chosen](text, settings, on_progress)


def split_selector(ref: str) -> tuple[str, int | None]:
    """Split ``FILE#N`` into the path and the 0-based trace index, when FILE is the real file."""
    match = _SELECTOR.match(ref)
    if match is None or _exists(ref) or not _exists(match["path"]):
        path, hash_, wrong = ref.rpartition("#")
        if hash_ and not _exists(ref) and _exists(path):
            raise InputError(
                f"cannot read {ref}: #{wrong} is not a trace number",
                f"pick one with {path}#N, counting from 0",
            )
        return ref, None
    return match["path"], int(match["index"])


def _exists(ref: str) -> bool:
    try:
        return Path(ref).exists()
    except (OSError, ValueError):  # a name too long or holding a NUL byte is no file
        return False


def _guess_source(ref: str) -> str:
    if _exists(split_selector(ref)[0]):
        return "file"
    if _UUID.match(ref) or _HEX_ID.match(ref):
        return "langsmith"
    raise InputError(
        f"cannot read trace {ref}: no such file",
        "give a path to a trace file, or a LangSmith/Langfuse trace id",
    )


@paused_gc()
def load_trace_file(
    path: Path,
    *,
    on_progress: OnProgress = no_progress,
    select: int | None = None,
    max_bytes: int = DEFAULT_MAX_TRACE_BYTES,
) -> Trace:
    """Read a trace file, detect its format from its content and parse it.

    Args:
        path: the file; ``FILE#N`` is understood when ``select`` is None.
        on_progress: receives progress for big files.
        select: which trace to take (0-based) when the file holds several.
        max_bytes: a bigger file is refused before it is read.
    """
    if select is None:
        text, select = split_selector(str(path))
        path = Path(text)
    doc, replaced = read_json_document(path, max_bytes=max_bytes, on_progress=on_progress)
    fmt = _detect(doc, path)
    on_progress(ProgressEvent(stage="parse", message=f"parsing {path.name} as {fmt.name}"))
    try:
        trace = fmt.parse(_choose(fmt, doc, path, select), str(path))
    except ValidationError as exc:  # a value of the wrong type deep in the file
        where = ".".join(str(part) for part in exc.errors()[0]["loc"]) if exc.errors() else "?"
        raise InputError(
            f"cannot read {path}: a {fmt.name} record has an unexpected {where} value",
            "export the trace again",
        ) from exc
    trace = _replaced_in_trace(trace, path, replaced)
    metadata = {**trace.metadata, "path": str(path)}
    if select is not None:
        metadata["selected"] = select
    return trace.model_copy(update={"metadata": metadata})


def _detect(doc: Any, path: Path) -> TraceFormat:
    for fmt in formats():
        if fmt.detect(doc):
            return fmt
    raise InputError(
        f"cannot read {path}: no known trace format", f"understood shapes: {UNDERSTOOD_SHAPES}"
    )


def _choose(fmt: TraceFormat, doc: Any, path: Path, select: int | None) -> Any:
    """The one trace document to parse: the whole file, or the selected one of several."""
    pieces = fmt.split(doc) if fmt.split else [("", doc)]
    if not pieces:
        raise InputError(f"cannot read {path}: it holds no trace", "export the trace again")
    if select is None and len(pieces) == 1:
        return pieces[0][1]
    last = len(pieces) - 1
    if select is None:
        labels = ", ".join(label for label, _ in pieces[:5] if label)
        more = ", ..." if len(pieces) > 5 else ""
        named = f" ({labels}{more})" if labels else ""
        raise InputError(
            f"cannot read {path}: the file holds {len(pieces)} traces{named}",
            f"pick one with {path}#N (0-{last})",
        )
    if select > last:
        raise InputError(
            f"cannot read {path}#{select}: the file holds "
            f"{len(pieces)} trace{'' if len(pieces) == 1 else 's'}",
            f"pick one with {path}#N (0-{last})",
        )
    return pieces[select][1]


def read_json_document(
    path: Path, *, max_bytes: int = DEFAULT_MAX_TRACE_BYTES, on_progress: OnProgress = no_progress
) -> tuple[Any, int | None]:
    """Parse a JSON or JSON Lines file, with one clear error for every way it can be unreadable.

    Returns the document with lone surrogates replaced by U+FFFD, and how many were; None when
    the text has no surrogate escape at all (then nested JSON text holds none either).
    """
    data = read_trace_bytes(path, limit=max_bytes, on_progress=on_progress)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {path}: not UTF-8 text", "give a JSON trace export") from exc
    del data  # the bytes, the text and the parsed document need not all be alive at once
    if not text.strip():
        raise InputError(f"cannot read {path}: the file is empty", "give a non-empty trace export")
    suspect = may_hold_surrogates(text)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as whole_error:
        doc = _json_lines(path, text, whole_error)
    except RecursionError as exc:
        raise _too_deep(path) from exc
    return _replaced(path, doc) if suspect else (doc, None)


def _too_deep(path: Path) -> InputError:
    return InputError(f"cannot read {path}: the JSON is nested too deeply", "give a trace export")


def _replaced(path: Path, doc: Any) -> tuple[Any, int]:
    try:
        return replace_surrogates(doc)
    except RecursionError as exc:
        raise _too_deep(path) from exc


def _replaced_in_trace(trace: Trace, path: Path, replaced: int | None) -> Trace:
    """The trace with the surrogates left by nested JSON replaced too, and one warning for all."""
    if replaced is None:
        return trace
    fixed, nested = replace_in_trace(trace)
    return with_warnings(fixed, surrogate_warning(path.name, replaced + nested))


def _json_lines(path: Path, text: str, whole_error: json.JSONDecodeError) -> list[Any]:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise _invalid_json(path, whole_error)
    docs: list[Any] = []
    for number, line in enumerate(lines, start=1):
        try:
            docs.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise InputError(
                f"cannot read {path}: invalid JSON on line {number} ({msg})",
                "the file may be truncated; export the trace again",
            ) from exc
    return docs


def _invalid_json(path: Path, exc: json.JSONDecodeError) -> InputError:
    truncated = exc.pos >= len(exc.doc.rstrip()) - 1
    problem = "truncated JSON" if truncated else f"invalid JSON at line {exc.lineno} ({exc.msg})"
    return InputError(f"cannot read {path}: {problem}", "export the trace again")


def _load_plugins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in (*_BUILTIN_FORMAT_MODULES, *_BUILTIN_FETCHER_MODULES):
        try:
            importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
    for group in ("refinery.formats",):
        for entry in entry_points(group=group):
            entry.load()
