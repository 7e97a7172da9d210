"""Pieces: a run's content split into the texts that are shown, shared or shortened one by one.

A piece is one text of a run (its error, each message, tool arguments and result, input and output
fields) with the spans that must never be cut: every evidence quote and a window of context around
it. A long text that repeats across runs (a system prompt, a conversation history resent to every
LLM call) has a ``key`` so that it is shown once and referenced afterwards. Evidence found nowhere
in the shown fields becomes a piece of its own, so it is always in the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...traces.model import Message, Run
from ..findings import Finding

SHARED_MIN = 64
"""Texts at least this long are shown once and referenced when they repeat."""
MIN_GAP = 100
"""Gaps shorter than this are kept: a marker would save next to nothing."""
MARKER_COST = 26
"""Characters of one ``[… n chars elided …]`` marker (an estimate)."""
_WINDOW = 120
"""Characters of context kept either side of an evidence quote in a shortened piece."""
_QUOTES_PER_PIECE = 3


@dataclass(frozen=True, kw_only=True)
class Piece:
    """One text of a run, with the spans (evidence and its context) that must never be cut."""

    label: str
    noun: str
    text: str
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def key(self) -> str | None:
        """Identity for sharing repeated texts (long ones, and every system prompt); else None."""
        shared = len(self.text) >= SHARED_MIN or self.noun == "system prompt"
        return self.text if shared else None

    @property
    def fixed(self) -> int:
        """Characters that are never cut: the evidence spans."""
        return sum(end - start for start, end in self.spans)

    @property
    def flexible(self) -> int:
        """Characters that may be cut."""
        return len(self.text) - self.fixed

    def kept(self, cap: int | None) -> int:
        """Characters the piece takes with this cap, its elision markers included."""
        size = len(self.text)
        if cap is None or size < self.fixed + cap + MIN_GAP:
            return size
        return min(size, self.fixed + cap + MARKER_COST * (len(self.spans) + 1))


def run_pieces(run: Run, findings: list[Finding]) -> tuple[Piece, ...]:
    """The run's pieces, evidence spans protected; unplaced evidence as pieces of its own."""
    pieces = [
        piece
        for piece in (*_error_pieces(run), *_input_pieces(run), *_output_pieces(run))
        if piece.text
    ]
    quotes = [found.evidence for found in findings if found.evidence]
    protected = [_protect(piece, quotes) for piece in pieces]
    missing = [quote for quote in dict.fromkeys(quotes) if not _quoted(quote, pieces)]
    extra = [
        Piece(label="evidence", noun="evidence", text=q, spans=((0, len(q)),)) for q in missing
    ]
    return (*protected, *extra)


def merge(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted spans with overlapping and touching ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _error_pieces(run: Run) -> list[Piece]:
    return [Piece(label="error", noun="error", text=run.error)] if run.error else []


def _input_pieces(run: Run) -> list[Piece]:
    if run.input_messages:
        return _message_pieces("input", run.input_messages)
    if run.tool_args is not None:
        return [Piece(label="args", noun="tool arguments", text=run.tool_args)]
    return _field_pieces("inputs", run.inputs)


def _output_pieces(run: Run) -> list[Piece]:
    if run.output_messages:
        return _message_pieces("output", run.output_messages)
    if run.tool_result is not None:
        return [Piece(label="result", noun="tool result", text=run.tool_result)]
    return _field_pieces("outputs", run.outputs or {})


def _message_pieces(side: str, messages: tuple[Message, ...]) -> list[Piece]:
    return [
        Piece(
            label=f"{side}[{index}] {message.role}"
            + (f" ({message.name})" if message.name else ""),
            noun="system prompt" if message.role == "system" else f"{message.role} message",
            text="\n".join(
                [message.content] * bool(message.content)
                + [f"→ {call.name}({call.arguments})" for call in message.tool_calls]
            ),
        )
        for index, message in enumerate(messages)
    ]


def _field_pieces(side: str, values: dict[str, Any]) -> list[Piece]:
    return [
        Piece(label=f"{side}.{name}", noun=f"{side} field", text=_field_text(value))
        for name, value in values.items()
    ]


def _field_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, default=str)


def _quoted(quote: str, pieces: list[Piece]) -> bool:
    return any(quote in piece.text for piece in pieces)


def _protect(piece: Piece, quotes: list[str]) -> Piece:
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        start = piece.text.find(quote)
        for _ in range(_QUOTES_PER_PIECE):
            if start < 0:
                break
            end = start + len(quote)
            spans.append((max(0, start - _WINDOW), min(len(piece.text), end + _WINDOW)))
            start = piece.text.find(quote, end)
    if not spans:
        return piece
    return Piece(label=piece.label, noun=piece.noun, text=piece.text, spans=merge(spans))
