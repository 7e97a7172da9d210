"""Findings and the detector registry.

A detector is a plain function ``(trace, expected) -> Iterator[Finding]`` registered with
``@detector``; each Finding's evidence is a verbatim excerpt of the trace so that a person (or an
LLM) can check it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from ..traces.model import Trace


class Severity(StrEnum):
    """How much a finding matters to the failure."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class Finding(BaseModel):
    """A deterministic detector's observation about one run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    """What was found (``tool_error``, ``loop``, ``finish_length``...)."""
    severity: Severity
    """How much it matters."""
    run_id: str
    """The run it is about, as the source names it."""
    message: str
    """One sentence for a person."""
    evidence: str
    """A verbatim excerpt of the trace supporting it (may be empty only for absence findings)."""


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
