"""Retrieval failures: a retriever or search tool that found nothing, weak matches or other facts.

Documents are read generically from a retriever run: OpenInference ``retrieval.documents.N.*``
attributes, or lists of documents, matches or hits in its outputs or tool result. Three findings:

- ``empty_retrieval``: the retrieval step ran and returned no document;
- ``low_relevance_retrieval``: every similarity score is low (all in [0, 1], best below 0.5) and
  the documents hold under half of the expectation's concepts;
- ``retrieval_missed_facts``: the expectation states figures (numbers, dates) that no document
  holds, while the final answer's figures all come from the documents: the answer faithfully
  repeated the wrong (stale or off-topic) documents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...knowledge.words import identifier_words, says
from ...traces.model import Run, RunKind, Trace
from ..findings import DetectorInput, Finding, FindingKind, Severity, detector
from .coverage import final_output
from .excerpts import finding, head, quotes
from .figures import figures
from .prompt_rules import expectation
from .terms import tokens

_DOC_KEYS = ("documents", "docs", "results", "matches", "hits", "chunks", "items", "passages")
_TEXT_KEYS = ("page_content", "content", "text", "snippet", "chunk", "body", "document")
_SCORE_KEYS = ("score", "similarity", "relevance_score", "_score", "relevance")
_META_DOC = re.compile(r"^retrieval\.documents\.(\d+)\.document\.(content|score)$")
_LOW_SCORE = 0.5


@dataclass(frozen=True, kw_only=True)
class Document:
    """One retrieved document: its text and similarity score when recorded."""

    text: str
    score: float | None = None


def is_retrieval(run: Run) -> bool:
    """A retriever run, or a tool run whose name says it searches or retrieves."""
    if run.kind is RunKind.RETRIEVER:
        return True
    name = identifier_words(run.tool_name or run.name)
    return run.kind is RunKind.TOOL and says("retrieval_tools", name)


def documents(run: Run) -> list[Document] | None:
    """The run's documents ([] when it returned an empty list), None when none are recognised."""
    found = _metadata_documents(run.metadata)
    if found:
        return found
    for value in (run.outputs, _parsed(run.tool_result)):
        listed = _listed(value)
        if listed is not None:
            return listed
    return None


def _metadata_documents(metadata: dict[str, Any]) -> list[Document]:
    parts: dict[int, dict[str, Any]] = {}
    for key, value in metadata.items():
        match = _META_DOC.match(key)
        if match:
            parts.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [
        Document(text=str(p.get("content") or ""), score=_score(p.get("score")))
        for _, p in sorted(parts.items())
    ]


def _parsed(text: str | None) -> Any:
    if not text or text.lstrip()[:1] not in "[{":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _listed(value: Any, depth: int = 0) -> list[Document] | None:
    """Documents under a documents-like key of a JSON-like value (searched a few levels deep)."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        docs = [_document(v) for v in value]
        return docs if any(d.text for d in docs) else None
    if not isinstance(value, dict) or depth > 3:
        return None
    for key, item in value.items():
        if key.lower() in _DOC_KEYS and isinstance(item, list):
            return [_document(v) for v in item]
    for item in value.values():
        found = _listed(item, depth + 1)
        if found is not None:
            return found
    return None


def _document(value: Any) -> Document:
    if not isinstance(value, dict):
        return Document(text=str(value))
    text = next((str(value[k]) for k in _TEXT_KEYS if isinstance(value.get(k), str)), "")
    meta: dict[str, Any] = value["metadata"] if isinstance(value.get("metadata"), dict) else {}
    score = next((_score(d[k]) for d in (value, meta) for k in _SCORE_KEYS if k in d), None)
    return Document(text=text or json.dumps(value)[:2000], score=score)


def _score(value: Any) -> float | None:
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _is_empty(run: Run, docs: list[Document] | None) -> bool:
    if docs is not None:
        return not docs
    if run.kind is not RunKind.RETRIEVER:
        return False
    return not run.output_text.strip() and not run.failed


@detector
def retrieval_problems(data: DetectorInput) -> Iterator[Finding]:
    """Retrieval steps that returned nothing, only weak matches, or documents lacking the facts."""
    for run in data.trace.runs:
        if not is_retrieval(run) or run.failed:
            continue
        docs = documents(run)
        if _is_empty(run, docs):
            name = run.tool_name or run.name or "the retriever"
            evidence = head(run.tool_result or run.output_text)
            message = f"retrieval step '{name}' returned no document"
            quoted = evidence if evidence and quotes(run, evidence) else ""
            yield finding(FindingKind.EMPTY_RETRIEVAL, Severity.HIGH, run, message, quoted)
        elif docs and data.expected.strip():
            yield from _weak(run, docs, data.expected)
            yield from _missed_facts(data.trace, run, docs, data.expected)


def _weak(run: Run, docs: list[Document], expected: str) -> Iterator[Finding]:
    scores = [d.score for d in docs if d.score is not None]
    if not scores or not all(0 <= s <= 1 for s in scores) or max(scores) >= _LOW_SCORE:
        return
    wanted = expectation(expected).required
    held = {t.term for d in docs for t in tokens(d.text)}
    if wanted and len(wanted & held) * 2 >= len(wanted):
        return
    message = (
        f"every retrieved document scored low (best {max(scores):.2f} of {len(docs)}) and they "
        f"hold few of the expected concepts: the retriever found off-topic documents"
    )
    yield finding(
        FindingKind.LOW_RELEVANCE_RETRIEVAL, Severity.HIGH, run, message, _quoted(run, docs)
    )


def _missed_facts(trace: Trace, run: Run, docs: list[Document], expected: str) -> Iterator[Finding]:
    final = final_output(trace)
    said = figures(final[1]) if final else frozenset()
    wanted = figures(expected) - said
    held = {f for d in docs for f in figures(d.text)}
    if not wanted or not held or final is None or wanted & held:
        return
    if not said or not said <= held:
        return
    shown = ", ".join(sorted(wanted))
    message = (
        f"no retrieved document holds the expected figures ({shown}); the answer repeats the "
        "documents' figures instead: the documents retrieved are stale or not the right ones"
    )
    yield finding(
        FindingKind.RETRIEVAL_MISSED_FACTS, Severity.HIGH, run, message, _quoted(run, docs)
    )


def _quoted(run: Run, docs: list[Document]) -> str:
    evidence = head(docs[0].text)
    return evidence if evidence and quotes(run, evidence) else ""
