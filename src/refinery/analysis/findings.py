"""The detector registry.

A detector is a plain function ``(trace, expected) -> Iterator[Finding]`` registered with
``@detector``; each Finding's evidence is a verbatim excerpt of the trace so that a person (or an
LLM) can check it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..models.findings import Finding, FindingKind, Severity
from ..traces.model import Trace

__all__ = [
    "DETECTORS",
    "Detector",
    "DetectorInput",
    "Finding",
    "FindingKind",
    "Severity",
    "detector",
]


@dataclass(frozen=True, kw_only=True)
class DetectorInput:
    """What detectors look at: the trace and the expected behaviour in the user's words."""

    trace: Trace
    expected: str = ""
    prompt_texts: tuple[tuple[str, str], ...] = ()
    """(path, content) of the project's prompt files, for coverage of the expectation."""


Detector = Callable[[DetectorInput], Iterator[Finding]]
DETECTORS: list[Detector] = []


def detector(fn: Detector) -> Detector:
    """Register a detector."""
    DETECTORS.append(fn)
    return fn
