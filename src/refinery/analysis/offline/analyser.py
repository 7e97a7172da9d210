"""The offline analyser: a Diagnosis and ranked Hypotheses from rules, with no LLM and no key.

It reads the trace generically (``facts``), decides the failure type with the documented priority
rules of ``verdict``, quotes verified evidence, writes the diagnosis from the knowledge base's
plain-language templates, and builds hypotheses from its fix patterns. Everything it says is
labelled as rule-based: the confidence reason names the rule that decided.
"""

from __future__ import annotations

from ...knowledge.models import model_family
from ...knowledge.patterns import Requirement, Trait, failure_text
from ...models.diagnosis import Diagnosis, Evidence, FailureType, Hypothesis, Level
from ...traces.model import RunKind
from ..analyser import AnalyserInput, AnalyserOutput, ContextFile, FileRole
from ..detectors.prompt_rules import holds_rule
from ..evidence import verify_evidence
from ..findings import FindingKind
from .case import Case, Verdict
from .facts import TraceFacts, read_facts, short, summarise
from .hypotheses import Plan, build_hypotheses, prompt_file_texts
from .rule_text import lower_first
from .slots import case_text, restated, template_slots
from .verdict import decide

_ABSENCE = {FindingKind.EXPECTATION_NOT_IN_PROMPT}
"""Findings about something missing: their excerpt is only the nearest passage, not support."""
_MAX_FINDING_QUOTES = 4
_UNNAMED_TOOL = {FailureType.INFRASTRUCTURE: "the model provider"}
"""How templates name a tool the trace does not name ("the tool used in that step")."""
_LOOP_KINDS = {FindingKind.LOOP_TOOL_CALL, FindingKind.REPEATED_OUTPUT}
_RETRIEVAL_KINDS = {
    FindingKind.EMPTY_RETRIEVAL,
    FindingKind.LOW_RELEVANCE_RETRIEVAL,
    FindingKind.RETRIEVAL_MISSED_FACTS,
}
_LOWER = {Level.HIGH: Level.MEDIUM, Level.MEDIUM: Level.LOW, Level.LOW: Level.LOW}


class OfflineAnalyser:
    """Rule-based analyser: the default when no LLM key is configured."""

    name = "offline"
    model: str | None = None

    def analyse(self, data: AnalyserInput) -> AnalyserOutput:
        """Diagnose the trace and propose fixes by rules over the findings and context files."""
        facts = read_facts(data.trace)
        case = Case(
            trace=data.trace,
            findings=data.findings,
            facts=facts,
            expected=data.expected,
            prompt_texts=facts.system_prompts or prompt_file_texts(data.files),
        )
        verdict = decide(case)
        evidence = _evidence(case, verdict)
        hypotheses = build_hypotheses(_plan(data, facts, verdict, evidence))
        diagnosis = _diagnosis(case, verdict, evidence, hypotheses, data.files)
        return AnalyserOutput(diagnosis=diagnosis, hypotheses=hypotheses)


def _plan(
    data: AnalyserInput, facts: TraceFacts, verdict: Verdict, evidence: tuple[Evidence, ...]
) -> Plan:
    rule_file = _rule_file(data.files, verdict)
    existing = verdict.existing_rule.text if rule_file and verdict.existing_rule else ""
    slots = {**template_slots(data, facts, verdict), "existing_rule": restated(existing)}
    quote = next((e for e in evidence if e.verified), None)
    excerpt = short(quote.quote.split("Traceback")[0], 100) if quote else ""
    note = f'Evidence: run {quote.run_id}: "{excerpt}".' if quote else ""
    return Plan(
        failure_type=verdict.failure_type,
        family=model_family(facts.model),
        slots=slots,
        user_input=facts.user_input,
        expected=data.expected,
        evidence_note=note,
        files=data.files,
        focus_prompt=rule_file,
        existing_rule=existing,
        traits=_traits(data, verdict) | _shown(existing, slots),
        knobs=verdict.knobs,
        case_text=case_text(data.trace, facts),
        run_ids=frozenset(run.id for run in data.trace),
    )


def _rule_file(files: tuple[ContextFile, ...], verdict: Verdict) -> str | None:
    """The prompt file that holds the rule the model ignored, if one does."""
    rule = verdict.existing_rule
    if rule is None:
        return None
    return next(
        (path for path, text in prompt_file_texts(files) if holds_rule(text, rule.text)), None
    )


def _shown(existing: str, slots: dict[str, str]) -> frozenset[Requirement]:
    shown = {Trait.EXISTING_RULE: bool(existing), Trait.EXAMPLE: bool(slots["example"])}
    return frozenset(trait for trait, present in shown.items() if present)


def _traits(data: AnalyserInput, verdict: Verdict) -> frozenset[Requirement]:
    tools = data.trace.of_kind(RunKind.TOOL, RunKind.RETRIEVER)
    called = bool(tools) or any(m.tool_calls for r in data.trace for m in r.output_messages)
    failed = verdict.tool is not None or verdict.fabricated or any(r.failed for r in tools)
    kinds = {f.kind for f in verdict.findings}
    derived = {
        Trait.TOOLS: called,
        Trait.TOOL_FAILURE: failed,
        Trait.LOOP: bool(kinds & _LOOP_KINDS),
        Trait.RETRIEVAL_FINDING: bool(kinds & _RETRIEVAL_KINDS),
    }
    return frozenset(kinds | {name for name, shown in derived.items() if shown})


def _evidence(case: Case, verdict: Verdict) -> tuple[Evidence, ...]:
    supporting = [f for f in verdict.findings if f.kind not in _ABSENCE]
    found = _distinct([(f.run_id, f.evidence or _run_snippet(case, f.run_id)) for f in supporting])
    quotes = found[:_MAX_FINDING_QUOTES]
    rule = verdict.existing_rule
    if rule is not None and rule.source in case.trace:
        quotes.append((rule.source, rule.text))
    final = case.facts.final_run
    if final is not None and case.facts.final_text.strip():
        quotes.append((final.id, case.facts.final_text[:300]))
    return tuple(
        verify_evidence(case.trace, Evidence(run_id=r, quote=q)) for r, q in _distinct(quotes)
    )


def _distinct(quotes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Non-blank quotes, each once, longest kept.

    A quote repeated on another run, or held inside a longer quote, adds nothing: a failure
    propagated through four parent steps is one failure.
    """
    kept: list[tuple[str, str]] = []
    for run_id, quote in quotes:
        text = quote.strip()
        if not text or any(text in other.strip() for _, other in kept):
            continue
        kept = [(r, q) for r, q in kept if q.strip() not in text]
        kept.append((run_id, quote))
    return kept


def _run_snippet(case: Case, run_id: str) -> str:
    run = case.trace.get(run_id)
    if run is None:
        return ""
    text = (run.error or run.output_text or "").strip()
    return text.splitlines()[0][:200] if text else ""


def _diagnosis(
    case: Case,
    verdict: Verdict,
    evidence: tuple[Evidence, ...],
    hypotheses: tuple[Hypothesis, ...],
    files: tuple[ContextFile, ...],
) -> Diagnosis:
    names = _names(files, verdict)
    drifted = _drifted(case, verdict, files)
    kinds = {f.kind for f in verdict.findings} | ({FindingKind.PROMPT_DRIFT} if drifted else set())
    text = failure_text(verdict.failure_type, frozenset(kinds))
    verified = any(e.verified for e in evidence)
    return Diagnosis(
        failure_type=verdict.failure_type,
        root_cause=_root_cause(case, verdict, names, drifted),
        confidence=verdict.confidence if verified else _LOWER[verdict.confidence],
        confidence_reason=_confidence_reason(verdict, verified),
        trace_summary=summarise(case.trace, {f.run_id for f in case.findings}),
        gap=_gap(case),
        executive_summary=_executive(case, text.plain, hypotheses),
        affected_component=text.component.format_map(names),
        evidence=evidence,
    )


def _names(files: tuple[ContextFile, ...], verdict: Verdict) -> dict[str, str]:
    def first(role: FileRole, default: str) -> str:
        return next((f.path for f in files if f.role is role), default)

    return {
        "prompt": first(FileRole.PROMPT, "no prompt file given"),
        "config": first(FileRole.CONFIG, "no config file given"),
        "tool": verdict.tool or _UNNAMED_TOOL.get(verdict.failure_type, "used in that step"),
        "detail": verdict.detail,
    }


def _drifted(case: Case, verdict: Verdict, files: tuple[ContextFile, ...]) -> bool:
    """The ignored rule is in the prompt production ran but in no prompt file (prompt drift)."""
    return (
        bool(case.of(FindingKind.PROMPT_DRIFT))
        and verdict.existing_rule is not None
        and _rule_file(files, verdict) is None
    )


def _root_cause(case: Case, verdict: Verdict, names: dict[str, str], drifted: bool) -> str:
    cause = failure_text(verdict.failure_type).cause.format_map(names)
    if verdict.fabricated:
        final = short(case.facts.final_text, 100)
        cause += f' The model then answered "{final}" as if the tool had succeeded'
        cause += (
            ", against the prompt's rule."
            if verdict.existing_rule
            else ", and no prompt rule says what to do when a tool fails."
        )
    if drifted:
        cause += (
            " That rule is in the prompt production ran, not in the project's prompt file: the "
            "deployed prompt and the file have drifted apart, so a fix to the file must add the "
            "rule back before production runs the file's prompt again."
        )
    return cause


def _confidence_reason(verdict: Verdict, verified: bool) -> str:
    kinds = sorted({f.kind.value for f in verdict.findings}) or ["no detector finding"]
    runs = sorted({f.run_id for f in verdict.findings})[:3]
    where = f" on run {', '.join(runs)}" if runs else ""
    check = "evidence quoted verbatim from the trace" if verified else "evidence not verified"
    reason = (
        f"Rule-based offline analysis (no LLM): the rule '{verdict.rule}' matched "
        f"{', '.join(kinds)}{where}; {check}."
    )
    if verdict.lexical:
        reason += (
            " This verdict rests only on shared words between the expected behaviour, the prompt "
            "and the answer, which is why confidence is low: reading the conversation itself "
            "needs an LLM (run again with --provider openai, anthropic or gemini and its API key)."
        )
    return reason


def _gap(case: Case) -> str:
    final = case.facts.final_text.strip()
    actual = f'the final answer was "{short(final, 300)}"' if final else "there was no final answer"
    return f"Expected: {case.expected.strip().rstrip('.')}. Actual: {actual}."


def _executive(case: Case, plain: str, hypotheses: tuple[Hypothesis, ...]) -> str:
    parts = [plain]
    if case.facts.user_input and case.facts.final_text.strip():
        parts.append(
            f'Asked "{short(case.facts.user_input, 80)}", it replied '
            f'"{short(case.facts.final_text, 80)}".'
        )
    best = next((h for h in hypotheses if h.valid), None)
    if best is not None:
        parts.append(f"Suggested fix: {lower_first(best.title)}.")
    return " ".join(parts)
