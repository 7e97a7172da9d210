"""The LLM analyser: the same input and output as the offline analyser, with a model doing the reasoning.

Two structured calls per analysis: one holistic diagnosis (trace analysis, gap, diagnosis and executive
summary together) and one hypothesis call. Everything sent is redacted first; placeholders are restored in
what comes back. Evidence quotes are checked verbatim against the trace (unverified ones are flagged and
lower the confidence); edits are checked against the files, with one retry showing the nearest real lines.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import Settings
from ..errors import ProviderError
from ..llm.prompts import load_prompt
from ..llm.provider import Completion, Provider, Request, make_provider
from ..llm.redact import Redactor
from .analyser import AnalyserInput, AnalyserOutput, ContextFile, Usage
from .findings import Finding
from .schema import Diagnosis, Edit, Evidence, Hypothesis, Level

_Model = TypeVar("_Model", bound=BaseModel)
_LOWER = {Level.HIGH: Level.MEDIUM, Level.MEDIUM: Level.LOW, Level.LOW: Level.LOW}


class HypothesisSet(BaseModel):
    """The hypothesis call's answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hypotheses: tuple[Hypothesis, ...] = Field(min_length=1, max_length=5)
    """3 to 5 ranked hypotheses, best first."""


class LLMAnalyser:
    """Diagnoses with an LLM provider behind Refinery's versioned prompts."""

    def __init__(self, provider: Provider, settings: Settings, *, redact: bool = True) -> None:
        self.provider = provider
        self.name = provider.name
        self.model: str | None = provider.model
        self.settings = settings
        self.redact = redact
        self.prompt_version = load_prompt(settings, "HOLISTIC_ANALYSIS_TEMPLATE").version
        self.usage = Usage()
        self.transcript: list[dict[str, Any]] = []

    def analyse(self, data: AnalyserInput) -> AnalyserOutput:
        """Diagnose with one call, propose fixes with another, verify both against the inputs."""
        redactor = _redactor() if self.redact else None
        material = self._material(data, redactor)
        diagnosis = self._diagnose(data, material, redactor)
        hypotheses = self._hypothesise(data, material, diagnosis, redactor)
        return AnalyserOutput(diagnosis=diagnosis, hypotheses=hypotheses, usage=self.usage)

    def _material(self, data: AnalyserInput, redactor: Redactor | None) -> str:
        template = load_prompt(self.settings, "HOLISTIC_ANALYSIS_TEMPLATE").text
        text = template.format_map(
            {
                "expected": data.expected,
                "token_health": _token_health(data),
                "findings": _findings_text(data.findings),
                "trace": data.condensed,
                "files": _files_text(data.files),
                "patterns": _patterns_text(data),
            }
        )
        return redactor.redact(text) if redactor else text

    def _system(self, second: str) -> str:
        first = load_prompt(self.settings, "FAILURE_ANALYST_SYSTEM_PROMPT").text
        return f"{first}\n\n{load_prompt(self.settings, second).text}"

    def _diagnose(self, data: AnalyserInput, material: str, redactor: Redactor | None) -> Diagnosis:
        request = Request(
            system=self._system("DIAGNOSIS_SYSTEM_PROMPT"),
            prompt=material,
            schema_name="diagnosis",
            schema=Diagnosis.model_json_schema(),
        )
        diagnosis = self._structured(request, Diagnosis, redactor)
        return verify_diagnosis(data, diagnosis)

    def _hypothesise(
        self,
        data: AnalyserInput,
        material: str,
        diagnosis: Diagnosis,
        redactor: Redactor | None,
    ) -> tuple[Hypothesis, ...]:
        shown = diagnosis.model_dump_json(indent=1)
        prompt = f"{material}\n\n## Diagnosis\n{redactor.redact(shown) if redactor else shown}"
        request = Request(
            system=self._system("HYPOTHESIS_GENERATOR_SYSTEM_PROMPT"),
            prompt=prompt,
            schema_name="hypotheses",
            schema=HypothesisSet.model_json_schema(),
        )
        found = self._structured(request, HypothesisSet, redactor).hypotheses
        problems = _edit_problems(found, data.files)
        if not problems:
            return found
        retry = Request(
            system=request.system,
            prompt=f"{prompt}\n\n## Your edits did not apply\n{_redacted(problems, redactor)}\n"
            "Return all hypotheses again, with every search text copied exactly from the files.",
            schema_name=request.schema_name,
            schema=request.schema,
        )
        return self._structured(retry, HypothesisSet, redactor).hypotheses

    def _structured(
        self, request: Request, model: type[_Model], redactor: Redactor | None
    ) -> _Model:
        completion = self._call(request)
        try:
            return _parse(completion.text, model, redactor)
        except (ValidationError, ValueError) as first_error:
            repair = Request(
                system=request.system,
                prompt=f"{request.prompt}\n\n## Your previous answer was invalid\n"
                f"{_short(str(first_error))}\nReturn only JSON matching the schema.",
                schema_name=request.schema_name,
                schema=request.schema,
            )
            try:
                return _parse(self._call(repair).text, model, redactor)
            except (ValidationError, ValueError) as exc:
                raise ProviderError(
                    f"{self.name} returned an invalid {request.schema_name} twice",
                    f"try another model or --provider offline ({_short(str(exc), 160)})",
                ) from exc

    def _call(self, request: Request) -> Completion:
        from ..llm.catalog import cost_usd

        completion = self.provider.complete(request)
        cost = cost_usd(completion.model, completion.input_tokens, completion.output_tokens)
        previous = self.usage.cost_usd if self.usage.llm_calls else 0.0
        self.usage = Usage(
            llm_calls=self.usage.llm_calls + 1,
            input_tokens=self.usage.input_tokens + completion.input_tokens,
            output_tokens=self.usage.output_tokens + completion.output_tokens,
            cost_usd=None if cost is None or previous is None else round(previous + cost, 6),
        )
        self.transcript.append(
            {"schema": request.schema_name, "system": request.system, "prompt": request.prompt,
             "response": completion.text, "model": completion.model}
        )  # fmt: skip
        return completion


def llm_analyser(settings: Settings) -> LLMAnalyser:
    """The LLM analyser for the provider settings choose."""
    return LLMAnalyser(make_provider(settings), settings, redact=settings.redact)


def verify_diagnosis(data: AnalyserInput, diagnosis: Diagnosis) -> Diagnosis:
    """Check each evidence quote verbatim against the trace; unverified quotes lower the confidence."""
    from .evidence import verify_evidence

    checked = tuple(verify_evidence(data.trace, item) for item in diagnosis.evidence)
    unverified = [item for item in checked if not item.verified]
    update: dict[str, Any] = {"evidence": checked}
    if unverified:
        update["confidence"] = _LOWER[diagnosis.confidence]
        update["confidence_reason"] = (
            f"{diagnosis.confidence_reason} (lowered: {len(unverified)} of {len(checked)} "
            "evidence quotes were not found verbatim in the trace)"
        )
    return diagnosis.model_copy(update=update)


def _parse(text: str, model: type[_Model], redactor: Redactor | None) -> _Model:
    raw = redactor.restore(text) if redactor else text
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end < start:
        raise ValueError("the answer holds no JSON object")
    return model.model_validate(json.loads(raw[start : end + 1]))


def _edit_problems(hypotheses: Sequence[Hypothesis], files: Sequence[ContextFile]) -> list[str]:
    from ..fixes.edits import check_edit

    contents = {f.path: f.content for f in files}
    problems: list[str] = []
    for hypothesis in hypotheses:
        for edit in hypothesis.edits:
            found = (
                check_edit(edit, contents[edit.file])
                if edit.file in contents
                else [f"{edit.file} is not one of the project's files"]
            )
            problems.extend(f"hypothesis {hypothesis.rank}: {p}" for p in found)
    return problems


def _redactor() -> Redactor:
    from ..fixes.secrets import scan_text

    def secrets(text: str) -> list[str]:
        return [hit.secret for hit in scan_text(text) if hit.secret]

    return Redactor(extra_finder=secrets)


def _redacted(lines: list[str], redactor: Redactor | None) -> str:
    text = "\n".join(lines)
    return redactor.redact(text) if redactor else text


def _short(text: str, limit: int = 800) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _findings_text(findings: Sequence[Finding]) -> str:
    if not findings:
        return "(none)"
    return "\n".join(
        f"- [{f.severity.value}] {f.kind} in run {f.run_id}: {f.message}\n  evidence: {f.evidence!r}"
        for f in findings
    )


def _files_text(files: Sequence[ContextFile]) -> str:
    if not files:
        return "(no project files: propose edits only if a file is shown)"
    return "\n\n".join(f"### {f.path} ({f.role.value})\n```\n{f.content}\n```" for f in files)


def _token_health(data: AnalyserInput) -> str:
    from .tokens import analyse_tokens

    report = analyse_tokens(data.trace)
    return f"{report.health.label}: {report.health.reason}"


def _patterns_text(data: AnalyserInput) -> str:
    from ..knowledge.models import model_family
    from ..knowledge.patterns import load_patterns

    models = [run.model for run in data.trace.runs if run.model]
    family = model_family(models[-1] if models else None)
    chosen = [p for p in load_patterns() if family in p.families or "all" in p.families]
    return "\n".join(f"- {p.title}: {p.rationale}" for p in chosen[:12]) or "(none)"


__all__ = ["Edit", "Evidence", "HypothesisSet", "LLMAnalyser", "llm_analyser", "verify_diagnosis"]
