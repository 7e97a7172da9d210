"""Verbatim excerpts: where detectors take their evidence from, and how much of it they quote.

Evidence must be checkable by a person, so it is always a slice of one text the run itself holds
(its error, a message, a tool call's arguments, a tool result, a string inside its inputs or
outputs), never a paraphrase or a JSON rendering. Long texts are scanned only at their two ends so
that a 100,000-run trace stays linear and fast. An excerpt never starts or ends inside a word: a cut
that would split one moves out to the word's edge (up to ``WORD_MARGIN`` more characters) or, for a
word longer than that, in past it, but never into the text the excerpt exists to show.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...traces.model import Run
from ..findings import Finding, FindingKind, Severity

EVIDENCE_CHARS = 300
"""Longest evidence quoted, in characters."""
SCAN_CHARS = 20_000
"""Characters scanned at each end of a long text."""
WORD_MARGIN = 20
"""Characters an excerpt may grow at each end to finish a word it would otherwise cut."""
_WORD_START = re.compile(r"\w+\Z")
_WORD_END = re.compile(r"\w+")


def window(text: str, start: int, end: int, limit: int = EVIDENCE_CHARS) -> str:
    """A verbatim slice of ``text`` of about ``limit`` characters around ``text[start:end]``."""
    span = end - start
    if span >= limit:
        left, right = start, start + limit
    else:
        margin = (limit - span) // 2
        left = max(0, start - margin)
        right = min(len(text), end + (limit - span - (start - left)))
    return text[_open_at(text, left, start) : _close_at(text, right, min(end, right))].strip()


def _splits_word(text: str, cut: int) -> bool:
    """True when cutting ``text`` at ``cut`` would split a word in two."""
    return (
        0 < cut < len(text)
        and (text[cut - 1].isalnum() or text[cut - 1] == "_")
        and (text[cut].isalnum() or text[cut] == "_")
    )


def _open_at(text: str, cut: int, keep: int) -> int:
    """Where an excerpt meant to open at ``cut`` opens: not inside a word, nor after ``keep``."""
    if not _splits_word(text, cut):
        return cut
    back = _WORD_START.search(text, max(0, cut - WORD_MARGIN), cut)
    if back and not _splits_word(text, back.start()):
        return back.start()
    ahead = _WORD_END.match(text, cut, min(keep, cut + WORD_MARGIN))
    return ahead.end() if ahead and not _splits_word(text, ahead.end()) else cut


def _close_at(text: str, cut: int, keep: int) -> int:
    """Where an excerpt meant to close at ``cut`` closes: not inside a word, nor before ``keep``."""
    if not _splits_word(text, cut):
        return cut
    ahead = _WORD_END.match(text, cut, min(len(text), cut + WORD_MARGIN))
    if ahead and not _splits_word(text, ahead.end()):
        return ahead.end()
    back = _WORD_START.search(text, max(keep, cut - WORD_MARGIN), cut)
    return back.start() if back and not _splits_word(text, back.start()) else cut


def head(text: str, limit: int = EVIDENCE_CHARS) -> str:
    """The first non-blank line(s) of ``text``, verbatim, about ``limit`` characters."""
    stripped = text.strip()
    first = stripped[: _close_at(stripped, limit, 0)]
    lines = first.splitlines()
    if len(lines) > 1 and len(lines[0].strip()) >= 40:
        return lines[0].strip()
    return first.strip()


def tail(text: str, limit: int = EVIDENCE_CHARS) -> str:
    """About the last ``limit`` characters of ``text``, verbatim."""
    stripped = text.strip()
    end = len(stripped)
    return stripped[_open_at(stripped, max(0, end - limit), end) :].strip()


def segments(text: str) -> Iterator[tuple[int, str]]:
    """(offset, chunk) of the parts of ``text`` worth scanning: all of it, or its two ends."""
    if len(text) <= 2 * SCAN_CHARS:
        yield 0, text
        return
    yield 0, text[:SCAN_CHARS]
    yield len(text) - SCAN_CHARS, text[-SCAN_CHARS:]


def search(pattern: re.Pattern[str], text: str) -> tuple[int, int] | None:
    """Absolute (start, end) of the first match of ``pattern`` in the scanned parts of ``text``."""
    for offset, chunk in segments(text):
        match = pattern.search(chunk)
        if match:
            return offset + match.start(), offset + match.end()
    return None


def string_leaves(value: Any, depth: int = 0) -> Iterator[str]:
    """Non-blank strings inside a JSON-like value, in document order (bounded depth)."""
    found: list[str] = []
    _collect_leaves(value, depth, found)  # one list, not a chain of nested generators
    return iter(found)


def _collect_leaves(value: Any, depth: int, found: list[str]) -> None:
    if isinstance(value, str):
        if value.strip():
            found.append(value)
    elif depth < 12 and isinstance(value, dict):
        for item in value.values():
            _collect_leaves(item, depth + 1, found)
    elif depth < 12 and isinstance(value, list | tuple):
        for item in value:
            _collect_leaves(item, depth + 1, found)


def run_texts(run: Run) -> Iterator[str]:
    """Every text a run holds that evidence may quote, most specific first."""
    for text in (run.error, run.tool_result, run.tool_args):
        if text:
            yield text
    for message in (*run.output_messages, *run.input_messages):
        if message.content:
            yield message.content
        for call in message.tool_calls:
            yield call.name
            if call.arguments:
                yield call.arguments
    yield from string_leaves(run.outputs)
    yield from string_leaves(run.inputs)


def own_texts(run: Run) -> Iterator[str]:
    """The texts a run itself produced (error, tool result, output messages, outputs).

    A model call's input messages repeat the whole conversation so far; a detector looking for what
    a step said reads these instead, so that the work stays linear in the trace's text.
    """
    for text in (run.error, run.tool_result):
        if text:
            yield text
    for message in run.output_messages:
        if message.content:
            yield message.content
    yield from string_leaves(run.outputs)


def quotes(run: Run, evidence: str) -> bool:
    """True when ``evidence`` occurs verbatim in one of the run's texts."""
    return any(evidence in text for text in run_texts(run))


def finding(
    kind: FindingKind, severity: Severity, run: Run, message: str, evidence: str = ""
) -> Finding:
    """A Finding about ``run``; shorthand that keeps detectors to one line per finding."""
    return Finding(kind=kind, severity=severity, run_id=run.id, message=message, evidence=evidence)
