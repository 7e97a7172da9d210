"""The knowledge base: fix patterns and plain-language explanations, loaded from ``patterns.yaml``.

Best practice is data, not logic: a pattern names a strategy, the failure types and model families
it fits, its risk, and a text template whose placeholders are filled from the trace and the
expected behaviour. The analysers choose patterns with ``patterns_for(failure_type, family)``; a new
pattern is a YAML entry, not code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from ..models.diagnosis import FailureType, Level
from ..models.findings import FindingKind
from .data import load_data


class Trait(StrEnum):
    """What a trace shows beyond single findings, for patterns that require or exclude it."""

    TOOLS = "tools"
    """The agent called tools."""
    TOOL_FAILURE = "tool_failure"
    """A tool call failed or was misused."""
    LOOP = "loop"
    """The same call or output repeated."""
    RETRIEVAL_FINDING = "retrieval_finding"
    """A retrieval detector fired."""
    EXISTING_RULE = "existing_rule"
    """A prompt file holds the rule the model ignored (a fix may restate it there)."""
    EXAMPLE = "example"
    """The trace holds a request that a worked example can show."""


Requirement = FindingKind | Trait
"""A finding kind or a trait: what ``requires``/``excludes`` in ``patterns.yaml`` may name."""

_SPACES = re.compile(r"(?<=\S) {2,}")


@dataclass(frozen=True, kw_only=True)
class ConfigKnob:
    """A numeric setting a ``change_config`` pattern adjusts."""

    keys: tuple[str, ...]
    """Setting names to look for, in order of preference; ``parent.key`` for a nested key."""
    factor: float = 1.0
    """Multiplier applied to the current value."""
    minimum: float = 0.0
    """The new value is at least this."""
    maximum: float = 0.0
    """The new value is at most this."""
    values: tuple[tuple[str, str], ...] = ()
    """For a setting that is empty (null/none): the value to set, per model family."""
    upgrades: tuple[tuple[str, str], ...] = ()
    """For a model-name setting: the stronger model of the same provider, per current model."""
    switch_on: bool = False
    """For an on/off setting that is off (``false``): turn it on."""
    named_first: bool = False
    """Try the settings the diagnosis names (``Verdict.knobs``) before ``keys``."""

    def value_for(self, family: str) -> str | None:
        """The value to set for a model of ``family`` (``other`` when not listed), or None."""
        table = dict(self.values)
        return table.get(family, table.get("other"))


@dataclass(frozen=True, kw_only=True)
class Pattern:
    """One fix pattern of the knowledge base."""

    id: str
    title: str
    strategy: str
    """``add_rule``, ``failure_handling_rule``, ``reposition_rule``, ``add_example``,
    ``model_guidance``, ``add_eval`` or ``change_config``."""
    applies_to: tuple[FailureType, ...]
    primary_for: tuple[FailureType, ...]
    families: tuple[str, ...]
    """Model families it is written for; empty for every family."""
    risk: Level
    template: str
    rationale: str
    expected_effect: str
    config: ConfigKnob | None = None
    requires: tuple[Requirement, ...] = ()
    """Traits the trace must show (``tools``, ``tool_failure``, a finding kind such as
    ``step_limit``) for the pattern to apply."""
    excludes: tuple[Requirement, ...] = ()
    """Traits that rule the pattern out (raising a limit the agent looped against)."""

    def render(self, slots: dict[str, str]) -> str:
        """The template with its placeholders filled; unknown placeholders become empty."""
        text = self.template.format_map(_Blank(slots))
        return _SPACES.sub(" ", text).replace(" .", ".").strip()

    def fit(self, failure_type: FailureType, family: str) -> int:
        """How well it fits: primary failure types and family-specific patterns score higher."""
        score = 4 if failure_type in self.primary_for else 2
        return score + (1 if family in self.families else 0)


@dataclass(frozen=True, kw_only=True)
class FailureText:
    """Plain-language templates for one failure type."""

    cause: str
    plain: str
    component: str
    why: str
    method: str
    """The rule stated when the expectation is a specific answer: a way of working."""


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


@cache
def load_patterns() -> tuple[Pattern, ...]:
    """Every pattern of ``patterns.yaml``, in file order."""
    return tuple(_pattern(raw) for raw in _data()["patterns"])


def patterns_for(failure_type: FailureType, family: str) -> list[Pattern]:
    """Patterns that apply to ``failure_type`` for a model of ``family``, best fit first."""
    fitting = [
        p
        for p in load_patterns()
        if failure_type in p.applies_to and (not p.families or family in p.families)
    ]
    return sorted(fitting, key=lambda p: -p.fit(failure_type, family))


def failure_text(
    failure_type: FailureType, kinds: frozenset[FindingKind] = frozenset()
) -> FailureText:
    """The plain-language templates of a failure type, as a finding of ``kinds`` refines them."""
    raw = dict(_data()["failure_types"][failure_type.value])
    variants = {FindingKind(k): v for k, v in (raw.pop("variants", None) or {}).items()}
    for kind in sorted(kinds & set(variants)):
        raw.update(variants[kind])
        break
    return FailureText(
        cause=raw["cause"],
        plain=raw["plain"],
        component=raw["component"],
        why=raw["why"],
        method=raw["method"],
    )


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = load_data(__package__, "patterns.yaml")
    return data


def _pattern(raw: dict[str, Any]) -> Pattern:
    knob = raw.get("config")
    return Pattern(
        id=str(raw["id"]),
        title=str(raw["title"]),
        strategy=str(raw["strategy"]),
        applies_to=tuple(FailureType(t) for t in raw["applies_to"]),
        primary_for=tuple(FailureType(t) for t in raw.get("primary_for") or ()),
        families=tuple(str(f) for f in raw.get("families") or ()),
        risk=Level(raw["risk"]),
        template=str(raw["template"]),
        rationale=str(raw["rationale"]).strip(),
        expected_effect=str(raw["expected_effect"]).strip(),
        config=_knob(knob) if knob else None,
        requires=tuple(_requirement(r) for r in raw.get("requires") or ()),
        excludes=tuple(_requirement(r) for r in raw.get("excludes") or ()),
    )


def _requirement(name: Any) -> Requirement:
    """A finding kind or trait by its YAML name; an unknown name is an error in the data."""
    text = str(name)
    return Trait(text) if text in Trait.__members__.values() else FindingKind(text)


def _knob(raw: dict[str, Any]) -> ConfigKnob:
    values = raw.get("value") or {}
    return ConfigKnob(
        keys=tuple(str(k) for k in raw["keys"]),
        factor=float(raw.get("factor", 1)),
        minimum=float(raw.get("min", 0)),
        maximum=float(raw.get("max", 0)),
        values=tuple((str(k), str(v)) for k, v in values.items()),
        upgrades=tuple((str(k), str(v)) for k, v in (raw.get("upgrades") or {}).items()),
        switch_on=bool(raw.get("switch_on", False)),
        named_first=bool(raw.get("named_first", False)),
    )
