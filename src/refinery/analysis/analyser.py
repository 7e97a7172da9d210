"""The analyser interface: offline rules and LLMs take the same input and return the same output.

An analyser turns the trace, the findings, the condensed trace text and the project's context files
into a Diagnosis and 3-5 ranked Hypotheses. The pipeline validates the hypotheses' edits afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from ..models.diagnosis import Diagnosis, Hypothesis
from ..traces.model import Trace
from .findings import Finding


class FileRole(StrEnum):
    """What a context file is to the agent."""

    PROMPT = "prompt"
    EVAL = "eval"
    CONFIG = "config"


@dataclass(frozen=True, kw_only=True)
class ContextFile:
    """One of the project's files, as read now."""

    path: str
    """Path relative to the repository root, as edits name it."""
    role: FileRole
    """Prompt, eval or config."""
    content: str
    """The file's current text."""


@dataclass(frozen=True, kw_only=True)
class AnalyserInput:
    """Everything an analyser may look at."""

    trace: Trace
    expected: str
    """The expected behaviour, in the user's words."""
    findings: tuple[Finding, ...]
    """What the deterministic detectors found."""
    condensed: str
    """The trace condensed to the token budget, with elisions marked."""
    files: tuple[ContextFile, ...] = ()
    """The project's prompt, eval and config files."""


class Usage(BaseModel):
    """LLM usage of one analysis (zero for the offline analyser)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    llm_calls: int = 0
    """Number of LLM calls made."""
    input_tokens: int = 0
    """Tokens sent."""
    output_tokens: int = 0
    """Tokens received and billed as output, thinking included."""
    cost_usd: float | None = None
    """Estimated cost in US dollars, when the price is known (thinking billed as output)."""
    thinking_tokens: int = 0
    """Of ``output_tokens``, those the model spent thinking (reasoning models)."""


class AnalyserOutput(BaseModel):
    """A diagnosis and its ranked hypotheses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    diagnosis: Diagnosis
    """What went wrong, where and why."""
    hypotheses: tuple[Hypothesis, ...]
    """Ranked fixes, best first."""
    usage: Usage = Usage()
    """LLM usage."""


class Analyser(Protocol):
    """Anything that can diagnose a trace: the offline rules or an LLM."""

    name: str
    """``offline`` or the provider's name."""
    model: str | None
    """The LLM model, None offline."""

    def analyse(self, data: AnalyserInput) -> AnalyserOutput:
        """Diagnose and propose fixes."""
        ...
