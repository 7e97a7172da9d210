"""The last redaction before a hypothesis is shown, validated and applied, whoever wrote it.

The offline analyser redacts what it takes from the trace, and the LLM analyser gives originals
back only where the edited file holds them; an LLM run with ``--no-redact``, or an analyser from a
plugin, has no such step. So every hypothesis passes here: a sensitive value that occurs in the
trace becomes its readable placeholder (``<email>``) in the title and the other texts, and in an
edit's replacement unless the edited file already holds it (the user's own text, left as it was).
The secret scan before writing then refuses any secret still added, from wherever it came.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..models.diagnosis import Edit, Hypothesis
from .detectors import find_sensitive

_TEXTS = ("title", "rationale", "expected_effect")


def redact_hypotheses(
    hypotheses: Sequence[Hypothesis], in_trace: Callable[[str], bool], files: Mapping[str, str]
) -> tuple[Hypothesis, ...]:
    """``hypotheses`` with every value ``in_trace`` accepts replaced, except in its own file.

    Args:
        hypotheses: as the analyser returned them.
        in_trace: whether a value occurs in the trace (the trace is read only when needed).
        files: the content of each context file, by path.
    """
    return tuple(_redacted(h, in_trace, files) for h in hypotheses)


def _redacted(
    hypothesis: Hypothesis, in_trace: Callable[[str], bool], files: Mapping[str, str]
) -> Hypothesis:
    def everywhere(text: str) -> str:
        return _replaced(text, in_trace)

    texts = {name: everywhere(getattr(hypothesis, name)) for name in _TEXTS}
    edits = tuple(_edit(edit, in_trace, files.get(edit.file, "")) for edit in hypothesis.edits)
    update = {
        **texts,
        "risk_reasons": tuple(everywhere(r) for r in hypothesis.risk_reasons),
        "edits": edits,
    }
    changed = {k: v for k, v in update.items() if v != getattr(hypothesis, k)}
    return hypothesis.model_copy(update=changed) if changed else hypothesis


def _edit(edit: Edit, in_trace: Callable[[str], bool], content: str) -> Edit:
    """The replacement without the trace's values, except those the file already holds."""

    def copied(value: str) -> bool:
        return value not in content and in_trace(value)

    return Edit(file=edit.file, search=edit.search, replace=_replaced(edit.replace, copied))


def _replaced(text: str, replace: Callable[[str], bool]) -> str:
    parts: list[str] = []
    position = 0
    for found in find_sensitive(text):
        value = text[found.start : found.end]
        if replace(value):
            parts += [text[position : found.start], f"<{found.detector.label}>"]
            position = found.end
    return "".join([*parts, text[position:]])
