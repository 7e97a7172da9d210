"""Secret scan of the text Refinery is about to add, with detect-secrets.

Only *added* lines are scanned: a secret already in the user's file is not ours to judge, a secret
an LLM writes into it is. detect-secrets' file scanner (its default plugins and false-positive
filters) reads from disk, so the text goes to a private temporary directory for the scan and is
deleted straight after; its ad-hoc ``scan_line`` searches eagerly and flags ordinary words. A hit
keeps the secret's value only for redaction, out of its repr; refusals name the type and line.
"""

from __future__ import annotations

import difflib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class SecretHit:
    """A secret found in some text: which kind, on which line (1-based), and (hidden) its value."""

    type: str
    """detect-secrets' name for the kind of secret (``AWS Access Key``, ``Private Key``...)."""
    line: int
    """The line of the scanned text (or of the file, for ``scan_added``)."""
    secret: str = field(default="", repr=False)
    """The secret itself, for redaction only: never print or log it."""


def scan_text(text: str, *, suffix: str = ".txt") -> list[SecretHit]:
    """Secrets in ``text``; ``suffix`` is the file type detect-secrets assumes (``.py``...)."""
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import default_settings

    name = f"scanned{suffix if suffix.startswith('.') else '.txt'}"
    with tempfile.TemporaryDirectory(prefix="refinery-scan-") as folder, default_settings():
        (Path(folder) / name).write_text(text, encoding="utf-8")
        collection = SecretsCollection(root=folder)
        collection.scan_file(name)
        hits = {
            SecretHit(type=found.type, line=found.line_number, secret=found.secret_value or "")
            for _, found in collection
        }
    return sorted(hits, key=lambda hit: (hit.line, hit.type))


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
