from __future__ import annotations

import pytest

from refinery.knowledge.models import FAMILIES
from refinery.knowledge.patterns import Trait, failure_text, load_patterns, patterns_for
from refinery.models.diagnosis import FailureType


def test_patterns_have_unique_ids_and_known_families() -> None:
    patterns = load_patterns()
    assert len({p.id for p in patterns}) == len(patterns)
    assert all(set(p.families) <= set(FAMILIES) for p in patterns)
    assert all(p.config is not None for p in patterns if p.strategy == "change_config")


@pytest.mark.parametrize("failure_type", list(FailureType))
@pytest.mark.parametrize("family", FAMILIES)
def test_every_failure_type_has_three_strategies_and_explanations(
    failure_type: FailureType, family: str
) -> None:
    found = patterns_for(failure_type, family)
    # a request to show in an example is in nearly every trace; other requirements are evidence
    assert len({p.strategy for p in found if not set(p.requires) - {Trait.EXAMPLE}}) >= 3
    assert all(failure_type in p.applies_to for p in found)
    assert all(not p.families or family in p.families for p in found)
    text = failure_text(failure_type)
    assert text.cause and text.plain and text.component and text.why


def test_model_specific_patterns_are_chosen_by_family() -> None:
    openai = {p.id for p in patterns_for(FailureType.CONTEXT_ISSUE, "openai")}
    anthropic = {p.id for p in patterns_for(FailureType.INSTRUCTION_GAP, "anthropic")}
    other = {p.id for p in patterns_for(FailureType.CONTEXT_ISSUE, "other")}
    assert "openai.gpt41-both-ends" in openai and "openai.gpt41-both-ends" not in other
    assert "anthropic.xml-tagged-rules" in anthropic
    assert patterns_for(FailureType.CONTEXT_ISSUE, "openai")[0].id == "openai.gpt41-both-ends"


def test_render_fills_placeholders_from_the_expectation() -> None:
    rule = next(p for p in load_patterns() if p.id == "general.restate-ignored-rule")
    text = rule.render({"existing_rule": "Always answer in French."})
    assert text == "IMPORTANT, repeated on purpose: Always answer in French."
    assert "{" not in rule.render({})


def test_pattern_requirements_are_finding_kinds_or_traits() -> None:
    from refinery.knowledge.patterns import Trait, load_patterns
    from refinery.models.findings import FindingKind

    named = [r for p in load_patterns() for r in (*p.requires, *p.excludes)]
    assert named
    assert all(isinstance(r, FindingKind | Trait) for r in named)
    assert FindingKind.STEP_LIMIT in named


def test_unknown_requirement_name_in_patterns_is_an_error() -> None:
    from refinery.knowledge.patterns import _requirement

    with pytest.raises(ValueError, match="stepLimit"):
        _requirement("stepLimit")
