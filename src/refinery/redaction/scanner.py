"""The maintained secret scanner (detect-secrets) as one more detector.

detect-secrets knows many key shapes and keyword assignments (``password = "..."``) and filters its
own false positives, but its file scanner reads from disk: the text goes to a private temporary
directory for the scan and is deleted straight after (its ad-hoc ``scan_line`` searches eagerly and
flags ordinary words). A hit keeps the secret's value only for redaction, out of its repr.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class SecretHit:
    """A secret found in some text: which kind, on which line (1-based), and (hidden) its value."""

    type: str
    """The kind of secret (``AWS Access Key``, ``private key (PEM)``...)."""
    line: int
    """The line of the scanned text (or of the file, for ``scan_added``)."""
    secret: str = field(default="", repr=False)
    """The secret itself, for redaction only: never print or log it."""


def detect_secrets_scan(text: str, *, suffix: str = ".txt") -> list[SecretHit]:
    """detect-secrets' findings in ``text``; ``suffix`` is the file type it assumes (``.py``...)."""
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


def scanner_values(text: str) -> list[str]:
    """The secret values detect-secrets finds in ``text`` (a ``SecretFinder``)."""
    return [hit.secret for hit in detect_secrets_scan(text) if hit.secret]
