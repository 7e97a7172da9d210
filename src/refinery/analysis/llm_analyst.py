"""The LLM analyser: the offline analyser's input and output, with a model doing the reasoning.

Two structured calls per analysis: one holistic diagnosis (trace analysis, gap, diagnosis and
executive summary together) and one hypothesis call. Everything sent is redacted first (unless
``--no-redact``). In what comes back, after the JSON is parsed, originals return only where they
must: in evidence quotes (checked verbatim against the trace), in an edit's search text, and in its
replacement when the edited file already holds the value (the user's own text, kept as it was).
Everywhere else (titles, rationales, an eval case built from the trace) a placeholder becomes a
readable ``<email>`` or ``<api key>``, so no value from the trace reaches a file or a commit
message; the pre-write scan refuses any secret an edit still adds. The model answers in its own
response shapes (``DiagnosisDraft``, ``HypothesisSet``), which leave out what Refinery decides
itself (whether a quote is verified, whether an edit applies); they are converted to ``Diagnosis``
and ``Hypothesis``. An answer that is not valid JSON for its schema gets one repair round trip.
Evidence quotes are checked verbatim against the trace (unverified ones are flagged and lower the
confidence); edits are checked against the files, with one retry showing the model the nearest real
lines. The divergence step the model names must be a run of the trace (its position is taken from
the trace, not from the model's counting). The trace, the findings and the project's files are
fenced between ``<<<BEGIN … tag>>>``/``<<<END … tag>>>`` lines whose tag is a digest of the content,
so no text inside can close its own fence; the system prompt says that what is fenced is material
to analyse, never instructions. An answer cut at the output limit before any text (a model that
thought too long) is retried once with twice the limit. With ``settings.verbose`` every prompt and
raw answer is appended to ``.refinery/logs/`` as the calls happen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import Settings
from ..errors import ProviderError, RefineryError
from ..llm.failures import AnswerCut
from ..llm.prompts import PROMPT_NAMES, Prompt, load_prompt
from ..llm.provider import Completion, Provider, Request, make_provider
from ..llm.schema import answer_schema
from ..models.diagnosis import (
    Diagnosis,
    DiagnosisDraft,
    Edit,
    Evidence,
    Hypothesis,
    HypothesisDraft,
    Level,
)
from ..redaction import Redactor, text_redactor
from ..traces.model import Trace
from .analyser import AnalyserInput, AnalyserOutput, ContextFile, Usage
from .llm_material import fence, material_fields

_Model = TypeVar("_Model", bound=BaseModel)
_MESSAGE_ID = re.compile(r"msg-(\d+)")
_LOWER = {Level.HIGH: Level.MEDIUM, Level.MEDIUM: Level.LOW, Level.LOW: Level.LOW}
_ANSWER = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)
NO_REDACT_WARNING = (
    "redaction is off (--no-redact): the trace and files were sent to {provider} as they are, "
    "keys and personal data included"
)


class HypothesisSet(BaseModel):
    """The hypothesis call's answer."""

    model_config = _ANSWER

    hypotheses: tuple[HypothesisDraft, ...] = Field(min_length=1, max_length=5)
    """3 to 5 ranked hypotheses, best first, each a genuinely different strategy."""


class LLMAnalyser:
    """Diagnoses with an LLM provider behind Refinery's versioned prompts."""

    def __init__(
        self, provider: Provider, settings: Settings, *, redact: bool | None = None
    ) -> None:
        from ..llm.logs import log_path

        self.provider = provider
        self.name = provider.name
        self.model: str | None = provider.model
        self.settings = settings
        self.redact = settings.redact if redact is None else redact
        self.prompts = {name: load_prompt(settings, name) for name in PROMPT_NAMES}
        self.prompt_version = _version_label(self.prompts)
        self.usage = Usage()
        self.transcript: list[dict[str, Any]] = []
        self.warnings: list[str] = (
            [] if self.redact else [NO_REDACT_WARNING.format(provider=provider.name)]
        )
        self.log_path = log_path(settings, provider.name) if settings.verbose else None

    def analyse(self, data: AnalyserInput) -> AnalyserOutput:
        """Diagnose with one call, propose fixes with another, verify both against the inputs."""
        redactor = text_redactor() if self.redact else None
        material = self._material(data, redactor)
        diagnosis = self._diagnose(data, material, redactor)
        hypotheses = self._hypothesise(data, material, diagnosis, redactor)
        return AnalyserOutput(diagnosis=diagnosis, hypotheses=hypotheses, usage=self.usage)

    def _material(self, data: AnalyserInput, redactor: Redactor | None) -> str:
        text = self.prompts["HOLISTIC_ANALYSIS_TEMPLATE"].text.format_map(material_fields(data))
        return redactor.redact(text) if redactor else text

    def _request(self, role: str, prompt: str, answer: type[BaseModel], name: str) -> Request:
        """A structured request under the analyst's system prompt followed by ``role``'s."""
        system = (
            f"{self.prompts['FAILURE_ANALYST_SYSTEM_PROMPT'].text}\n\n{self.prompts[role].text}"
        )
        return Request(
            system=system, prompt=prompt, schema_name=name, schema=answer_schema(answer),
            reasoning=self.settings.reasoning,
        )  # fmt: skip

    def _diagnose(self, data: AnalyserInput, material: str, redactor: Redactor | None) -> Diagnosis:
        request = self._request("DIAGNOSIS_SYSTEM_PROMPT", material, DiagnosisDraft, "diagnosis")
        answer = self._structured(request, DiagnosisDraft, redactor)
        settled = _settle_diagnosis(answer, redactor) if redactor else answer
        diagnosis = verify_diagnosis(data, Diagnosis.model_validate(settled.model_dump()))
        return verify_divergence(data.trace, diagnosis)

    def _hypothesise(
        self, data: AnalyserInput, material: str, diagnosis: Diagnosis, redactor: Redactor | None
    ) -> tuple[Hypothesis, ...]:
        shown = _redacted([diagnosis.model_dump_json(indent=1)], redactor)
        prompt = (
            f"{material}\n\n## Diagnosis (yours, quoting the trace)\n{fence('DIAGNOSIS', shown)}"
        )
        request = self._request(
            "HYPOTHESIS_GENERATOR_SYSTEM_PROMPT", prompt, HypothesisSet, "hypotheses"
        )
        found = self._structured(request, HypothesisSet, redactor)
        settled = _settle_hypotheses(found, redactor, data.files)
        problems = _edit_problems(settled, data.files)
        if problems:
            retry = _edit_retry(request, found, problems, redactor)
            found = self._structured(retry, HypothesisSet, redactor)
            settled = _settle_hypotheses(found, redactor, data.files)
        return tuple(Hypothesis.model_validate(h.model_dump()) for h in settled)

    def _structured(
        self, request: Request, model: type[_Model], redactor: Redactor | None
    ) -> _Model:
        try:
            return _parse(self._call(request).text, model)
        except (ValidationError, ValueError) as first_error:
            repair = _with_prompt(
                request,
                f"{request.prompt}\n\n## Your previous answer was invalid\n"
                f"{_short(str(first_error))}\nReturn only JSON matching the schema.",
            )
            try:
                return _parse(self._call(repair).text, model)
            except (ValidationError, ValueError) as exc:
                raise ProviderError(
                    f"{self.name} returned an invalid {request.schema_name} twice "
                    f"({_problem(exc)})",
                    "try another model, or --provider offline",
                ) from exc

    def _call(self, request: Request) -> Completion:
        """One call; an answer cut at the output limit before any text is retried once, longer."""
        try:
            return self._send(request)
        except AnswerCut:
            longer = replace(request, max_output_tokens=request.max_output_tokens * 2)
            return self._send(longer)

    def _send(self, request: Request) -> Completion:
        try:
            completion = self.provider.complete(request)
        except RefineryError as exc:
            self._record(request, {"error": str(exc)})
            raise
        self._count(completion)
        self._record(
            request,
            {"response": completion.text, "model": completion.model,
             "input_tokens": completion.input_tokens, "output_tokens": completion.output_tokens,
             "thinking_tokens": completion.thinking_tokens},
        )  # fmt: skip
        return completion

    def _count(self, completion: Completion) -> None:
        from ..llm.catalog import cost_usd

        cost = cost_usd(completion.model, completion.input_tokens, completion.output_tokens)
        if cost is not None:
            cost *= getattr(self.provider, "price_factor", 1.0)
        previous = self.usage.cost_usd if self.usage.llm_calls else 0.0
        self.usage = Usage(
            llm_calls=self.usage.llm_calls + 1,
            input_tokens=self.usage.input_tokens + completion.input_tokens,
            output_tokens=self.usage.output_tokens + completion.output_tokens,
            cost_usd=None if cost is None or previous is None else round(previous + cost, 6),
            thinking_tokens=self.usage.thinking_tokens + completion.thinking_tokens,
        )

    def _record(self, request: Request, outcome: dict[str, Any]) -> None:
        from ..llm.logs import append_log

        entry = {"provider": self.name, "schema": request.schema_name, "system": request.system,
                 "prompt": request.prompt, **outcome}  # fmt: skip
        self.transcript.append(entry)
        if self.log_path is not None:
            append_log(self.log_path, entry)


def llm_analyser(settings: Settings) -> LLMAnalyser:
    """The LLM analyser for the provider settings choose."""
    return LLMAnalyser(make_provider(settings), settings)


def verify_diagnosis(data: AnalyserInput, diagnosis: Diagnosis) -> Diagnosis:
    """Check each quote verbatim against the trace; unverified quotes lower the confidence."""
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


def verify_divergence(trace: Trace, diagnosis: Diagnosis) -> Diagnosis:
    """Keep the divergence only at a run of the trace, with its position taken from the trace."""
    step = diagnosis.divergence
    if step is None:
        return diagnosis
    if step.run_id not in trace:
        reason = (
            f"{diagnosis.confidence_reason} (the divergence named run {step.run_id}, "
            "which is not in the trace, and was dropped)"
        )
        return diagnosis.model_copy(update={"divergence": None, "confidence_reason": reason})
    message = _MESSAGE_ID.fullmatch(step.run_id) if trace.format == "transcript" else None
    position = int(message.group(1)) if message else trace.position(step.run_id)
    name = step.name.strip() or trace.runs[trace.position(step.run_id)].name
    fixed = step.model_copy(update={"position": position, "name": name})
    return diagnosis.model_copy(update={"divergence": fixed})


def _problem(exc: Exception) -> str:
    """The first problem of a parse or validation error, on one line."""
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "the answer"
        more = f", and {len(errors) - 1} more" if len(errors) > 1 else ""
        return f"{where}: {_short(' '.join(str(first['msg']).split()), 80)}{more}"
    return _short(" ".join(str(exc).split()), 160)


def _version_label(prompts: dict[str, Prompt]) -> str:
    """``V2`` when every prompt has one version, else each name with its own."""
    versions = {prompt.version for prompt in prompts.values()}
    if len(versions) == 1:
        return versions.pop()
    return ", ".join(f"{name}={prompt.version}" for name, prompt in prompts.items())


def _parse(text: str, model: type[_Model]) -> _Model:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError("the answer holds no JSON object")
    return model.model_validate(json.loads(text[start : end + 1]))


def _humanised(value: Any, redactor: Redactor) -> Any:
    """Every string of a parsed answer with readable placeholders, never the originals."""
    if isinstance(value, str):
        return redactor.humanise(value)
    if isinstance(value, dict):
        return {key: _humanised(item, redactor) for key, item in value.items()}
    if isinstance(value, list):
        return [_humanised(item, redactor) for item in value]
    return value


def _settle_diagnosis(answer: DiagnosisDraft, redactor: Redactor) -> DiagnosisDraft:
    """Quotes get their originals back (to be checked verbatim); the rest reads ``<email>``."""
    value = _humanised(answer.model_dump(mode="json", exclude={"evidence"}), redactor)
    evidence = [
        {"run_id": redactor.restore(q.run_id), "quote": redactor.restore(q.quote)}
        for q in answer.evidence
    ]
    return DiagnosisDraft.model_validate({**value, "evidence": evidence})


def _settle_hypotheses(
    found: HypothesisSet, redactor: Redactor | None, files: Sequence[ContextFile]
) -> tuple[HypothesisDraft, ...]:
    """Originals only in edit text whose file already holds them; readable placeholders else."""
    if redactor is None:
        return found.hypotheses
    contents = {f.path: f.content for f in files}
    return tuple(
        HypothesisDraft.model_validate(
            {
                **_humanised(h.model_dump(mode="json", exclude={"edits"}), redactor),
                "edits": [_settle_edit(e, redactor, contents.get(e.file, "")) for e in h.edits],
            }
        )
        for h in found.hypotheses
    )


def _settle_edit(edit: Edit, redactor: Redactor, content: str) -> Edit:
    return Edit(
        file=redactor.humanise(edit.file),
        search=redactor.restore(edit.search),
        replace=redactor.restore(edit.replace, keep=lambda value: value in content),
    )


def _with_prompt(request: Request, prompt: str) -> Request:
    return replace(request, prompt=prompt)


def _edit_retry(
    request: Request, found: HypothesisSet, problems: list[str], redactor: Redactor | None
) -> Request:
    """The hypothesis request again, with the previous answer and why its edits did not apply."""
    previous = _redacted([found.model_dump_json(indent=1)], redactor)
    return _with_prompt(
        request,
        f"{request.prompt}\n\n## Your previous answer\n{fence('ANSWER', previous)}\n\n"
        f"## These edits did not apply\n{_redacted(problems, redactor)}\n\n"
        "Return all hypotheses again. Copy every search text exactly from the file's current "
        "content (use the nearest real lines shown above), long enough to occur exactly once.",
    )


def _edit_problems(
    hypotheses: Sequence[HypothesisDraft], files: Sequence[ContextFile]
) -> list[str]:
    from ..fixes.edits import check_edit

    contents = {f.path: f.content for f in files}
    known = ", ".join(contents) or "none"
    problems: list[str] = []
    for hypothesis in hypotheses:
        for edit in hypothesis.edits:
            found = (
                check_edit(edit, contents[edit.file])
                if edit.file in contents
                else [f"{edit.file} is not one of the project's files (those are: {known})"]
            )
            problems.extend(f"- hypothesis {hypothesis.rank}: {p}" for p in found)
    return problems


def _redacted(lines: list[str], redactor: Redactor | None) -> str:
    text = "\n".join(lines)
    return redactor.redact(text) if redactor else text


def _short(text: str, limit: int = 800) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


__all__ = [
    "DiagnosisDraft",
    "Evidence",
    "HypothesisDraft",
    "HypothesisSet",
    "LLMAnalyser",
    "fence",
    "llm_analyser",
    "verify_diagnosis",
    "verify_divergence",
]
