"""AnalysisResult: everything one analysis produced, the object ``analyze --json`` prints.

It is also what ``.refinery/analyses/<id>.json`` holds, what ``refinery show`` prints again and
what ``refinery apply`` applies from: one schema for the screen, the file and the web page.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from ..analysis.analyser import Usage
from ..models.change import SkippedFix
from ..models.diagnosis import Diagnosis, Hypothesis
from ..models.findings import Finding
from ..store.context_file import ContextFiles
from ..traces.model import TraceRef

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AnalyserRef(BaseModel):
    """Which analyser produced the diagnosis."""

    model_config = _FROZEN

    provider: str
    """``offline`` or the LLM provider."""
    model: str | None = None
    """The LLM model; None offline."""
    prompt_version: str | None = None
    """Version of Refinery's own prompts; None offline."""
    key_source: str | None = None
    """Which variable held the provider's key and where it came from (``the environment`` or a
    ``.env`` file's path), e.g. ``ANTHROPIC_API_KEY from /repo/.env``; None offline."""


class AppliedRef(BaseModel):
    """The change written by ``--apply``."""

    model_config = _FROZEN

    change_id: str
    """Id for ``refinery undo``."""
    commit: str
    """The git commit holding the change."""
    files: tuple[str, ...]
    """Files changed."""
    hypothesis: int
    """Rank of the applied hypothesis."""


class AnalysisResult(BaseModel):
    """Everything one analysis produced: the ``--json`` contract of SPEC §5."""

    model_config = _FROZEN

    analysis_id: str
    """Unique id of this analysis (``an_`` and 12 hex digits; any unique prefix names it)."""
    created_at: datetime | None = None
    """When the analysis finished (UTC); None only in documents saved before it was recorded."""
    project: str
    """The project name."""
    expected: str
    """The expected behaviour, as given."""
    trace: TraceRef
    """The trace analysed."""
    context: ContextFiles
    """The files used."""
    analyser: AnalyserRef
    """Who diagnosed."""
    findings: tuple[Finding, ...]
    """Detector findings."""
    diagnosis: Diagnosis
    """The diagnosis."""
    hypotheses: tuple[Hypothesis, ...]
    """Ranked fixes with their validation."""
    diffs: dict[int, str] = {}
    """Unified diff of each hypothesis' edits, by rank (what ``--apply N`` would write)."""
    applied: AppliedRef | None = None
    """The applied change, when ``--apply`` succeeded."""
    already_present: tuple[int, ...] = ()
    """Fixes whose text the files already hold: applying them writes nothing."""
    already_applied: int | None = None
    """The rank of the fix ``--apply`` chose when its text was already in its files (nothing
    was written)."""
    skipped: tuple[SkippedFix, ...] = ()
    """Better-ranked fixes ``--apply`` passed over because they are invalid in themselves."""
    usage: Usage = Usage()
    """LLM usage and cost."""
    warnings: tuple[str, ...] = ()
    """Things the user should know (missing files dropped, budget exceeded...)."""
    file_sha256: dict[str, str] = {}
    """sha256 of each context file's bytes as analysed, by path: ``refinery apply`` compares them
    with the files as they are then."""
