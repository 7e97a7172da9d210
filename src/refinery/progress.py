"""Progress reporting without printing: long work calls an ``on_progress`` callback.

The CLI renders events on stderr; library callers may pass their own callback or none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ProgressEvent:
    """One step of long work: what is happening and, when known, how far along it is."""

    stage: str
    """Short name of the work (``fetch``, ``parse``, ``analyze``)."""
    message: str
    """What is happening, for a person."""
    done: int | None = None
    """Units done so far (runs, bytes, pages)."""
    total: int | None = None
    """Units in all, when known."""


OnProgress = Callable[[ProgressEvent], None]


def no_progress(event: ProgressEvent) -> None:
    """The default callback: ignore progress."""
