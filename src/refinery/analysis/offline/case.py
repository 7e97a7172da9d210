"""What the offline verdict looks at (``Case``) and what it decides (``Verdict``).

Kept apart from the rules of ``verdict`` so that the slots and hypotheses that read a verdict do
not depend on the rules that make one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...models.diagnosis import FailureType, Level
from ...traces.model import Run, RunKind, Trace
from ..detectors.prompt_rules import RuleMatch
from ..findings import Finding
from .facts import TraceFacts


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The decided failure type and why."""

    failure_type: FailureType
    rule: str
    """The rule that decided, in words (quoted in the confidence reason)."""
    findings: tuple[Finding, ...]
    """The findings it rests on."""
    confidence: Level
    detail: str
    """A short, trace-derived description used in the root cause."""
    tool: str | None = None
    """The tool or retriever involved, if any."""
    existing_rule: RuleMatch | None = None
    """The prompt rule that already covered the expectation, and where it is."""
    fabricated: bool = False
    """The model answered after a failure without admitting it."""
    knobs: tuple[str, ...] = ()
    """Configuration keys the evidence names as relevant to the fix (``max_iterations``...)."""
    lexical: bool = False
    """The verdict rests on word overlap between the expectation, the prompt and the answer,
    not on a deterministic finding: it cannot be more than low confidence."""


@dataclass(frozen=True, kw_only=True)
class Case:
    """What the rules look at."""

    trace: Trace
    findings: tuple[Finding, ...]
    facts: TraceFacts
    expected: str
    prompt_texts: tuple[tuple[str, str], ...]
    """(run id or file path, text) of the prompts the model saw: the trace's system messages, or
    the prompt files when the trace recorded none."""

    def of(self, *kinds: str) -> list[Finding]:
        """Findings of these kinds, in detector order."""
        return [f for f in self.findings if f.kind in kinds]

    def run(self, finding: Finding) -> Run | None:
        """The run a finding is about."""
        return self.trace.get(finding.run_id)

    def text(self, finding: Finding) -> str:
        """The finding's evidence and message, plus its run's error."""
        run = self.run(finding)
        return " ".join((finding.evidence, finding.message, (run.error or "") if run else ""))

    def kind_of(self, finding: Finding) -> RunKind | None:
        """The kind of the run a finding is about."""
        run = self.run(finding)
        return run.kind if run else None
