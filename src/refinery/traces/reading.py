r"""Reading a trace file's bytes safely: only regular files, size and binary-ness checked first.

A trace path is user input and may be anything: a FIFO (reading it waits forever for a writer), a
symlink to ``/dev/zero`` (it never ends), a 2 GB sparse file of NUL bytes. The file is opened
without blocking and checked through its open descriptor, so what is checked is what is read:
anything but a regular file is refused, a file over the limit is refused before reading, and the
first 8 KiB are sniffed for NUL bytes before the rest is read, in one buffer of the size the file
reported. A file that grows while it is read is read on in chunks, and reading stops one byte past
the limit, so it cannot take more memory than the limit allows.

Valid JSON may still hold text Python cannot encode: a lone UTF-16 surrogate escape (``\ud800``)
decodes into a string that fails later, when it is printed, cached or saved. Such characters are
replaced with U+FFFD, in files and in what LangSmith or Langfuse send, and the trace carries a
warning saying so (``metadata["warnings"]``).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import InputError
from ..progress import OnProgress, ProgressEvent, no_progress
from .model import Trace

SNIFF_BYTES = 8192
_PROGRESS_BYTES = 20 * 1024 * 1024
_CHUNK_BYTES = 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
_LONE_SURROGATE_ESCAPE = re.compile(  # a pair is one character; nested JSON doubles the backslash
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\{1,2}u[dD][c-fC-F])"
    r"|(?<!u[dD][89abAB][0-9a-fA-F]{2})(?<!u[dD][89abAB][0-9a-fA-F]{2}\\)\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
# Any surrogate escape, lone or paired: a literal-prefixed pattern, so it scans fast.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_trace_bytes(path: Path, *, limit: int, on_progress: OnProgress = no_progress) -> bytes:
    """The bytes of the regular file ``path``, refused when bigger than ``limit`` or binary."""
    fd = _open(path)
    try:
        size = _regular_size(path, os.fstat(fd))
    except InputError:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as file:
        if size > limit:
            raise _too_big(path, f"it is {size:,} bytes", limit)
        try:
            head = file.read(SNIFF_BYTES)
            if b"\x00" in head:
                raise InputError(f"cannot read {path}: it is a binary file", "give a trace export")
            if size > _PROGRESS_BYTES:
                on_progress(ProgressEvent(stage="read", message=f"reading {path.name}", total=size))
            file.seek(0)  # one read into one buffer the size fstat gave: no copy, no more
            data = file.read(size + 1)
            if len(data) > size:  # it grew while being read (or, in /proc, reports no size)
                data = _read_on(file, data, limit)
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}", "check the file") from exc
    if len(data) > limit:
        raise _too_big(path, "it holds more than the size it reported", limit)
    return data


def _read_on(file: BinaryIO, data: bytes, limit: int) -> bytes:
    """``data`` and what follows it, read in chunks until the end or one byte past ``limit``."""
    chunks = [data]
    total = len(data)
    while total <= limit and (chunk := file.read(min(_CHUNK_BYTES, limit + 1 - total))):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _open(path: Path) -> int:
    try:
        return os.open(path, _OPEN_FLAGS)
    except FileNotFoundError as exc:
        raise InputError(f"cannot read {path}: no such file", "check the path") from exc
    except IsADirectoryError as exc:
        raise InputError(f"cannot read {path}: it is a directory", "give a trace file") from exc
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror}", "check the file's permissions"
        ) from exc


def _regular_size(path: Path, info: os.stat_result) -> int:
    """The size of a regular file; anything else (directory, FIFO, device, socket) is refused."""
    if stat.S_ISREG(info.st_mode):
        return info.st_size
    kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
    raise InputError(
        f"cannot read {path}: it is {kind}, not a regular file", "give a trace file saved to disk"
    )


def _too_big(path: Path, what: str, limit: int) -> InputError:
    return InputError(
        f"cannot read {path}: {what}, over the {limit:,}-byte limit",
        "raise --max-trace-bytes (or REFINERY_MAX_TRACE_BYTES) if the trace is real",
    )


def may_hold_surrogates(text: str) -> bool:
    r"""True when the JSON text has a lone surrogate escape (``\ud800``).

    The lone-escape pattern starts with lookbehinds, so scanning all of a big file with it is slow;
    a fast scan finds every surrogate escape and the lone-escape pattern is tried only there (each
    of its matches starts where a surrogate escape does).
    """
    return any(
        _LONE_SURROGATE_ESCAPE.match(text, found.start())
        for found in _SURROGATE_ESCAPE.finditer(text)
    )


def replace_surrogates(doc: Any) -> tuple[Any, int]:
    """``doc`` with every lone surrogate in its strings and keys replaced by U+FFFD, and how many.

    Paired surrogate escapes were already joined by the JSON decoder; only lone ones remain.
    Containers without any are returned as they are, so a clean document is not copied.
    """
    if isinstance(doc, str):
        return _SURROGATE.subn("\ufffd", doc)
    if isinstance(doc, list | tuple):
        pairs = [replace_surrogates(item) for item in doc]
        count = sum(n for _, n in pairs)
        items = [item for item, _ in pairs]
        return (doc if not count else items if isinstance(doc, list) else tuple(items)), count
    if isinstance(doc, dict):
        entries = [(replace_surrogates(k), replace_surrogates(v)) for k, v in doc.items()]
        count = sum(kn + vn for (_, kn), (_, vn) in entries)
        return (doc if not count else {k: v for (k, _), (v, _) in entries}), count
    return doc, 0


def replace_in_trace(trace: Trace) -> tuple[Trace, int]:
    """The trace with lone surrogates replaced, and how many.

    JSON text nested in a field (an OTLP attribute, a Langfuse input) only becomes a string with
    surrogates once the format's parser decodes it, so the parsed trace is checked too.
    """
    fixed, count = replace_surrogates(trace.model_dump())
    return (Trace.model_validate(fixed), count) if count else (trace, 0)


def surrogate_warning(name: str, count: int) -> tuple[str, ...]:
    """The warning for surrogates replaced in ``name``; none when ``count`` is 0.

    The count is not shown: one character of the source may live in several fields of the trace.
    """
    if not count:
        return ()
    return (
        f"{name} holds lone surrogate escapes such as \\ud800 (invalid Unicode): each was "
        "replaced with U+FFFD",
    )


def with_warnings(trace: Trace, warnings: tuple[str, ...]) -> Trace:
    """The trace with ``warnings`` added to ``metadata["warnings"]``."""
    if not warnings:
        return trace
    known = trace.metadata.get("warnings", [])
    metadata = {**trace.metadata, "warnings": [*known, *warnings]}
    return trace.model_copy(update={"metadata": metadata})
