"""Building 3-5 ranked fix hypotheses from the verdict, the knowledge base and the context files.

Each knowledge-base pattern that fits the failure type and model family becomes at most one
hypothesis, one per strategy, so the hypotheses are genuinely different (a new rule, a restated
rule, an example, model-specific guidance, an eval case, a config change). Their text is the
pattern's template filled from the expectation and the trace; their edits are located in the
project's files by ``edit_targets``/``eval_targets``; prompt text is fitted to the voice of the
prompt it goes into (``voice``: its person, its final list). A hypothesis that cannot be placed
is kept, marked invalid, with the reason, and ranked after those that can. Everything the plan
took from the trace (the user's request, quotes, tool names) is redacted first, so an eval case
keeps its shape with ``<email>`` or ``<api key>`` where the trace held the value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...knowledge.patterns import Pattern, Requirement, Trait, patterns_for
from ...models.diagnosis import Edit, FailureType, Hypothesis, Level
from ...redaction import redact_texts
from ..analyser import ContextFile, FileRole
from ..structured import prompt_text
from .edit_targets import config_edit, prompt_end_edit, prompt_target
from .eval_targets import eval_case_edit
from .rule_text import lower_first, readability_problems
from .voice import Fitted, fitted, prompt_voice

_RISK_COST = {Level.LOW: 0, Level.MEDIUM: 1, Level.HIGH: 3}
_RISK_REASON = {
    "add_rule": "adds one rule to the system prompt; other behaviour changes only where it applies",
    "failure_handling_rule": "adds a rule that only applies when a tool fails",
    "reposition_rule": "repeats an existing instruction; no new behaviour is introduced",
    "add_example": "an example can be over-imitated on requests that only look similar",
    "model_guidance": "general guidance affects every answer, not only the failing case",
    "add_eval": "changes no agent behaviour, only the eval suite",
    "change_config": "a setting applies to every request and may change cost, latency or style",
    "add_fallback": "another model answers while the provider is down; its answers may differ",
    "retrieval_filter": "changes which documents every query gets; recall and precision shift",
    "retrieval_rerank": "adds a re-ranking call to every query: more latency and cost",
    "stronger_model": "a larger model costs several times more per token and answers more slowly; "
    "its answers change everywhere, not only here",
}
_MAX = 5
_MECHANISM_BONUS = 2
"""A pattern that needs the failure's mechanism (the failed tool, the loop, the limit, the ignored
rule) addresses it directly, so it ranks above general advice."""
_NOT_MECHANISMS = frozenset({Trait.TOOLS, Trait.EXAMPLE})


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What the hypotheses are built from."""

    failure_type: FailureType
    family: str
    slots: dict[str, str]
    """Template placeholders filled from the trace and the expectation."""
    user_input: str
    expected: str
    evidence_note: str
    """One line tying the rationale to the evidence."""
    files: tuple[ContextFile, ...]
    focus_prompt: str | None = None
    """The prompt file holding the rule the model ignored, edited first."""
    existing_rule: str = ""
    """That rule, verbatim from ``focus_prompt``: a fix restates it only there."""
    traits: frozenset[Requirement] = frozenset()
    """What the trace shows (``tools``, ``tool_failure``, the deciding finding kinds, ``loop``),
    for patterns that require or exclude it."""
    knobs: tuple[str, ...] = ()
    """Settings the diagnosis names (``Verdict.knobs``), tried first by patterns that ask."""
    case_text: str = ""
    """The conversation's own text, whose values a prompt fix must not carry."""
    run_ids: frozenset[str] = frozenset()
    """The trace's run ids, which never belong in prompt text."""


def build_hypotheses(plan: Plan) -> tuple[Hypothesis, ...]:
    """3-5 hypotheses with distinct strategies, ranked by fit, placeability and risk.

    Per strategy the best-fitting pattern wins, unless it cannot be placed in the project's files
    and a later one of the same strategy can (a setting the config does not have).
    """
    plan = redacted(plan)
    chosen: dict[str, tuple[int, Hypothesis]] = {}
    for pattern in patterns_for(plan.failure_type, plan.family):
        held = chosen.get(pattern.strategy)
        if (held is not None and held[1].valid) or not _fits(pattern, plan.traits):
            continue
        if pattern.config is None and pattern.strategy != "add_eval" and _unreadable(plan, pattern):
            continue
        fit = pattern.fit(plan.failure_type, plan.family) - _RISK_COST[pattern.risk]
        fit += _MECHANISM_BONUS if set(pattern.requires) - _NOT_MECHANISMS else 0
        candidate = (fit, _hypothesis(plan, pattern))
        if held is None or candidate[1].valid:
            chosen[pattern.strategy] = candidate
    ranked = sorted(chosen.values(), key=lambda item: (not item[1].valid, -item[0]))[:_MAX]
    return tuple(h.model_copy(update={"rank": i}) for i, (_, h) in enumerate(ranked, start=1))


def redacted(plan: Plan) -> Plan:
    """``plan`` with readable placeholders for the sensitive values in its text from the trace."""
    names = list(plan.slots)
    texts = redact_texts([plan.user_input, plan.evidence_note, *plan.slots.values()])
    return replace(
        plan,
        user_input=texts[0],
        evidence_note=texts[1],
        slots=dict(zip(names, texts[2:], strict=True)),
    )


def _unreadable(plan: Plan, pattern: Pattern) -> bool:
    """True when the pattern's text would not read as a person's prompt text in this case."""
    text = pattern.render(plan.slots)
    return bool(readability_problems(text, plan.expected, plan.case_text, plan.run_ids))


def _fits(pattern: Pattern, traits: frozenset[Requirement]) -> bool:
    return set(pattern.requires) <= traits and not set(pattern.excludes) & traits


def _hypothesis(plan: Plan, pattern: Pattern) -> Hypothesis:
    edits, problems, effect = _edits(plan, pattern)
    return Hypothesis(
        rank=0,
        title=pattern.title,
        strategy=pattern.strategy,
        rationale=f"{pattern.rationale} {plan.evidence_note}",
        failure_type=plan.failure_type,
        risk=pattern.risk,
        risk_reasons=(_RISK_REASON.get(pattern.strategy, "changes the agent's files"),),
        expected_effect=effect or pattern.expected_effect,
        edits=edits,
        patterns=(pattern.id,),
        valid=bool(edits) and not problems,
        problems=problems,
    )


def _edits(plan: Plan, pattern: Pattern) -> tuple[tuple[Edit, ...], tuple[str, ...], str]:
    if pattern.strategy == "add_eval":
        return (*_eval_edits(plan), "")
    if pattern.config is not None:
        return _config_edits(plan, pattern)
    restates = Trait.EXISTING_RULE in pattern.requires
    return (*_prompt_edits(plan, pattern, restates), "")


def _prompt_edits(
    plan: Plan, pattern: Pattern, restates: bool = False
) -> tuple[tuple[Edit, ...], tuple[str, ...]]:
    prompts = _ordered_prompts(plan, restates)
    if not prompts:
        return (), ("no prompt files in the project's context: pass --prompt-files",)
    text = pattern.render(plan.slots)
    for file in prompts:
        fit = _in_voice(plan, text, prompt_target(file.path, file.content), person=not restates)
        edit = prompt_end_edit(file.path, file.content, fit.text, joined=fit.joined)
        if edit is None and fit.text != text:
            edit = prompt_end_edit(file.path, file.content, text)
        if edit is not None:
            return (edit,), ()
    names = ", ".join(f.path for f in prompts)
    return (), (f"no editable prompt text found in {names}: pass the file holding the prompt",)


def _in_voice(plan: Plan, text: str, prompt: str, *, person: bool) -> Fitted:
    """``text`` in the voice of ``prompt`` (its person and list style), still readable.

    A restated rule keeps its wording: it quotes the prompt.
    """

    def readable(candidate: str) -> bool:
        return not readability_problems(candidate, plan.expected, plan.case_text, plan.run_ids)

    return fitted(text, prompt_voice(prompt), readable, person=person)


def _ordered_prompts(plan: Plan, restates: bool = False) -> list[ContextFile]:
    """Prompt files to edit, the one holding the ignored rule first; only it for a restatement."""
    prompts = [f for f in plan.files if f.role is FileRole.PROMPT]
    if restates:
        return [f for f in prompts if f.path == plan.focus_prompt]
    return sorted(prompts, key=lambda f: f.path != plan.focus_prompt)


def _eval_edits(plan: Plan) -> tuple[tuple[Edit, ...], tuple[str, ...]]:
    evals = [f for f in plan.files if f.role is FileRole.EVAL]
    if not evals:
        return (), ("no eval files in the project's context: pass --eval-files",)
    for file in evals:
        edit = eval_case_edit(file.path, file.content, plan.user_input, plan.expected)
        if edit is not None:
            return (edit,), ()
    names = ", ".join(f.path for f in evals)
    return (), (
        f"no list of eval cases found in {names}: use JSON, JSONL, YAML, CSV or pytest cases",
    )


def _config_edits(plan: Plan, pattern: Pattern) -> tuple[tuple[Edit, ...], tuple[str, ...], str]:
    configs = [f for f in plan.files if f.role is FileRole.CONFIG]
    if pattern.config is None or not configs:
        return (), ("no config files in the project's context: pass --config-files",), ""
    named = plan.knobs if pattern.config.named_first else ()
    for file in configs:
        change = config_edit(file.path, file.content, pattern.config, plan.family, named)
        if change is not None:
            effect = f"{change.key} goes from {change.old} to {change.new}: " + lower_first(
                pattern.expected_effect
            )
            return (change.edit,), (), effect
    keys = ", ".join(dict.fromkeys((*named, *pattern.config.keys[:4])))
    names = ", ".join(f.path for f in configs)
    kind = _setting_kind(pattern)
    return (
        (),
        (f"no {kind} setting named {keys} in {names}: set it where the agent is configured",),
        "",
    )


def _setting_kind(pattern: Pattern) -> str:
    knob = pattern.config
    if knob is None or not (knob.values or knob.upgrades or knob.switch_on):
        return "numeric"
    return "empty" if knob.values else "known model" if knob.upgrades else "switched-off"


def prompt_file_texts(files: tuple[ContextFile, ...]) -> tuple[tuple[str, str], ...]:
    """(path, prompt text) of each prompt file, for coverage checks."""
    return tuple(
        (f.path, prompt_text(f.path, f.content)) for f in files if f.role is FileRole.PROMPT
    )
