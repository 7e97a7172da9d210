"""Redaction: one set of detectors for every text that leaves the trace.

Text taken from a trace passes through here before it reaches an LLM (reversible placeholders),
a fix's edit, an extracted file or a commit message (readable placeholders such as ``<email>``);
the secret scan of text Refinery adds uses the same detectors. It sits below ``llm/``, ``fixes/``,
``analysis/`` and ``store/`` so that each of them can use it without importing another.
"""

from __future__ import annotations

from .detectors import Detection, Detector, SecretFinder, detectors, find_sensitive
from .redactor import Redactor, redact, redact_text, redact_texts, text_redactor
from .scanner import SecretHit, detect_secrets_scan, scanner_values

__all__ = [
    "Detection",
    "Detector",
    "Redactor",
    "SecretFinder",
    "SecretHit",
    "detect_secrets_scan",
    "detectors",
    "find_sensitive",
    "redact",
    "redact_text",
    "redact_texts",
    "text_redactor",
    "scanner_values",
]
