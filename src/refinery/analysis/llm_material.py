"""The material an LLM analyst is shown: findings, trace, files and patterns, fenced as data.

The trace, the findings (verbatim excerpts of it) and the project's files are written by others:
the agent, its users, its tools, the project's authors. Each is fenced between a
``<<<BEGIN NAME tag>>>`` and an ``<<<END NAME tag>>>`` line whose tag is a digest of the content,
so no text inside can close its own fence (it would have to contain the digest of itself), and the
analyst's system prompt says that fenced text is material to analyse, never an instruction. The tag
is derived, not random, so the same inputs give byte-identical requests (batch resume relies on it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from .analyser import AnalyserInput, ContextFile
from .findings import Finding


def material_fields(data: AnalyserInput) -> dict[str, str]:
    """The values of the analysis template's fields, untrusted ones fenced."""
    return {
        "expected": data.expected,
        "token_health": _token_health(data),
        "findings": fence("FINDINGS", _findings_text(data.findings)),
        "trace": fence("TRACE", data.condensed),
        "files": _files_text(data.files),
        "patterns": _patterns_text(data),
    }


def fence(label: str, text: str) -> str:
    """``text`` between BEGIN/END lines tagged with its digest, so it cannot close its own fence."""
    tag = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    body = text if text.endswith("\n") else f"{text}\n"
    return f"<<<BEGIN {label} {tag}>>>\n{body}<<<END {label} {tag}>>>"


def _findings_text(findings: Sequence[Finding]) -> str:
    if not findings:
        return "(none)"
    return "\n".join(
        f"- [{f.severity.value}] {f.kind} in run {f.run_id}: {f.message}\n"
        f"  evidence: {f.evidence!r}"
        for f in findings
    )


def _files_text(files: Sequence[ContextFile]) -> str:
    if not files:
        return "(no project files: propose edits only to files shown here)"
    return "\n\n".join(f"### {f.path} ({f.role.value})\n{fence('FILE', f.content)}" for f in files)


def _token_health(data: AnalyserInput) -> str:
    from .tokens import analyse_tokens

    health = analyse_tokens(data.trace).health
    return f"{health.label.value}: {health.reason}"


def _patterns_text(data: AnalyserInput) -> str:
    from ..knowledge.models import model_family
    from ..knowledge.patterns import load_patterns

    models = [run.model for run in data.trace.runs if run.model]
    family = model_family(models[-1] if models else None)
    chosen = [p for p in load_patterns() if not p.families or family in p.families]
    lines = [f"- {p.id} ({p.strategy}): {p.title}. {p.rationale}" for p in chosen]
    return "\n".join(lines) or "(none)"
