"""Secret scan of the text Refinery is about to add: detect-secrets plus redaction's detectors.

Only *added* lines are scanned: a secret already in the user's file is not ours to judge, a secret
written into it (by an offline rule or an LLM) is. The scan uses the maintained scanner and the
same secret detectors as redaction (OpenAI/Anthropic keys, an AWS key pair, GitHub/Slack tokens,
JWTs, PEM private keys, passwords in URLs, card numbers, IBANs, social security numbers), so that
what redaction would hide is refused here. Emails and phone numbers are not refused: text copied
from a trace is redacted before it becomes an edit. Refusals name the kind and line, never the
value.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from ..redaction import SecretHit, detect_secrets_scan, find_sensitive


def scan_text(text: str, *, suffix: str = ".txt") -> list[SecretHit]:
    """Secrets in ``text``; ``suffix`` is the file type detect-secrets assumes (``.py``...).

    A value both scanners find is named once, by redaction's detector.
    """
    ours = {
        SecretHit(
            type=found.detector.name,
            line=text.count("\n", 0, found.start) + 1,
            secret=text[found.start : found.end],
        )
        for found in find_sensitive(text)
        if found.detector.secret
    }
    theirs = {
        hit
        for hit in detect_secrets_scan(text, suffix=suffix)
        if not any(_same(hit, known) for known in ours)
    }
    return sorted(ours | theirs, key=lambda hit: (hit.line, hit.type))


def _same(hit: SecretHit, known: SecretHit) -> bool:
    return (
        hit.line == known.line
        and bool(hit.secret)
        and (hit.secret in known.secret or known.secret in hit.secret)
    )


def added_lines(before: str, after: str) -> list[tuple[int, str]]:
    """The lines of ``after`` (1-based number, text) that are new or changed since ``before``."""
    old, new = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [
        (index + 1, new[index])
        for tag, _, _, start, end in matcher.get_opcodes()
        if tag in ("replace", "insert")
        for index in range(start, end)
    ]


def scan_added(path: str, before: str, after: str) -> list[SecretHit]:
    """Secrets on the lines ``after`` adds to ``before``, numbered as lines of ``after``."""
    lines = added_lines(before, after)
    if not lines:
        return []
    hits = scan_text("\n".join(text for _, text in lines) + "\n", suffix=Path(path).suffix)
    return [
        SecretHit(type=hit.type, line=lines[hit.line - 1][0], secret=hit.secret) for hit in hits
    ]


__all__ = ["SecretHit", "added_lines", "scan_added", "scan_text"]
