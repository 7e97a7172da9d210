"""Batch mode (``--batch``): the analysis through OpenAI's Batch API or Anthropic's Message Batches.

Batches cost half as much and may take minutes to hours, so each LLM call of the analysis becomes a
one-request batch. ``BatchProvider`` implements the ordinary ``complete(request)``: it submits the
request, polls the batch with growing pauses (reporting progress through ``on_progress``), downloads
the result and returns it as a Completion, so ``LLMAnalyser`` runs unchanged on top of it.

Every submitted batch is recorded in ``.refinery/batches/<batch_id>.json``: the provider and model,
the stage (``diagnosis``, ``hypotheses``), a hash of the exact request, the analysis inputs (trace
reference, project, expected behaviour, options) and, once fetched, the answer.

How resume works. Up to the LLM calls the analysis is deterministic: the same trace, files and
options give byte-identical (redacted) requests. ``resume_batch(batch_id)`` re-runs the analysis
with the record's inputs, provider and model, and ``BatchProvider`` answers each request from the
records first: a recorded answer is reused, a pending batch is polled (not resubmitted).
Interrupted during the diagnosis batch, resuming polls it, then submits the hypotheses; interrupted
during the hypotheses, it reuses the diagnosis and polls the hypothesis batch. If the trace or files
changed since, the resumed batch matches no request and resuming stops with an error instead of
paying for a new analysis silently.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from ..config import Settings
from ..errors import ConfigError, InputError, ProviderError
from ..progress import OnProgress, ProgressEvent, no_progress
from .failures import provider_error
from .provider import Completion, Request, make_provider

if TYPE_CHECKING:
    from ..pipeline import AnalysisResult, AnalyzeOptions

BATCH_PROVIDERS = ("openai", "anthropic")
BATCH_PRICE_FACTOR = 0.5
FIRST_POLL_SECONDS = 5.0
MAX_POLL_SECONDS = 60.0
_FROZEN = ConfigDict(frozen=True, extra="forbid")
_OPENAI_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})

Sleep = Callable[[float], None]


@dataclass(frozen=True, kw_only=True)
class BatchState:
    """Where a batch is: its status word, whether it ended, and how far along it is."""

    status: str
    ended: bool
    failure: str | None = None
    """Why the batch failed as a whole (expired, cancelled...); None when it did not."""
    done: int = 0
    total: int = 1


class BatchBackend(Protocol):
    """One vendor's batch endpoints."""

    name: str
    model: str

    def submit(self, request: Request, custom_id: str) -> str:
        """Submit a one-request batch; its id."""
        ...

    def state(self, batch_id: str) -> BatchState:
        """The batch's current state."""
        ...

    def result(self, batch_id: str) -> Completion:
        """The ended batch's one answer."""
        ...


class BatchJob(BaseModel):
    """The analysis inputs needed to run it again on resume."""

    model_config = _FROZEN

    trace: str
    """The trace reference: an absolute file path or a LangSmith/Langfuse id."""
    project: str
    expected: str
    options: dict[str, Any]
    """``AnalyzeOptions`` as JSON."""


class BatchRecord(BaseModel):
    """``.refinery/batches/<batch_id>.json``: one submitted batch."""

    model_config = _FROZEN

    batch_id: str
    provider: str
    model: str
    stage: str
    """The request's schema name: ``diagnosis`` or ``hypotheses``."""
    request_hash: str
    submitted_at: str
    job: BatchJob
    answer: Completion | None = None
    """The answer once fetched, so a resumed analysis need not fetch it again."""


class BatchProvider:
    """A Provider whose every call is a one-request batch, submitted, polled and fetched."""

    price_factor = BATCH_PRICE_FACTOR

    def __init__(
        self,
        backend: BatchBackend,
        settings: Settings,
        job: BatchJob,
        *,
        resume: str | None = None,
        on_progress: OnProgress = no_progress,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.backend = backend
        self.name = backend.name
        self.model = backend.model
        self.settings = settings
        self.job = job
        self.resume = resume
        self.on_progress = on_progress
        self.sleep = sleep
        self.resumed = resume is None

    def complete(self, request: Request) -> Completion:
        """Answer from the records when resuming, else submit, poll and fetch a batch."""
        key = request_hash(self.name, self.model, request)
        record = find_record(self.settings, key, prefer=self.resume) if self.resume else None
        if record is None:
            record = self._submit(request, key)
        self.resumed = self.resumed or record.batch_id == self.resume
        if record.answer is not None:
            return record.answer
        completion = self._wait(record)
        save_record(self.settings, record.model_copy(update={"answer": completion}))
        return completion

    def _submit(self, request: Request, key: str) -> BatchRecord:
        if not self.resumed:
            raise InputError(
                f"batch {self.resume} no longer matches the analysis (the trace or the project's "
                "files changed since it was submitted)",
                "run refinery analyze again without --resume",
            )
        batch_id = self.backend.submit(request, f"refinery-{request.schema_name}")
        record = BatchRecord(
            batch_id=batch_id, provider=self.name, model=self.model, stage=request.schema_name,
            request_hash=key, submitted_at=datetime.now(UTC).isoformat(), job=self.job,
        )  # fmt: skip
        save_record(self.settings, record)
        message = (
            f"submitted {self.name} batch {batch_id} ({request.schema_name}); "
            f"if interrupted, resume with: refinery analyze --resume {batch_id}"
        )
        self.on_progress(ProgressEvent(stage="batch", message=message))
        return record

    def _wait(self, record: BatchRecord) -> Completion:
        delay = FIRST_POLL_SECONDS
        try:
            state = self._poll(record)
            while not state.ended:
                self.sleep(delay)
                delay = min(delay * 2, MAX_POLL_SECONDS)
                state = self._poll(record)
        except KeyboardInterrupt as exc:
            raise ProviderError(
                f"stopped waiting for {self.name} batch {record.batch_id}",
                f"pick up its result later with: refinery analyze --resume {record.batch_id}",
                retryable=True,
            ) from exc
        if state.failure:
            raise ProviderError(
                f"{self.name} batch {record.batch_id} {state.failure}",
                "run refinery analyze again (with or without --batch)",
            )
        return self.backend.result(record.batch_id)

    def _poll(self, record: BatchRecord) -> BatchState:
        state = self.backend.state(record.batch_id)
        message = f"{self.name} batch {record.batch_id} ({record.stage}): {state.status}"
        self.on_progress(
            ProgressEvent(stage="batch", message=message, done=state.done, total=state.total)
        )
        return state


def request_hash(provider: str, model: str, request: Request) -> str:
    """A stable digest of exactly what a request sends."""
    payload = json.dumps(
        {"provider": provider, "model": model, **asdict(request)}, sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def batches_dir(settings: Settings) -> Path:
    """``.refinery/batches/``."""
    return settings.state_dir / "batches"


def save_record(settings: Settings, record: BatchRecord) -> Path:
    """Write a batch's record atomically."""
    from ..store.atomic import write_atomic

    path = batches_dir(settings) / f"{_safe_id(record.batch_id)}.json"
    write_atomic(path, record.model_dump_json(indent=1).encode("utf-8"))
    return path


def load_record(settings: Settings, batch_id: str) -> BatchRecord:
    """The record of ``batch_id``; an InputError when Refinery never submitted it here."""
    path = batches_dir(settings) / f"{_safe_id(batch_id)}.json"
    try:
        return BatchRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(
            f"unknown batch {batch_id}", f"batches submitted here are in {batches_dir(settings)}"
        ) from exc
    except ValueError as exc:
        raise InputError(f"cannot read the record of batch {batch_id}: {exc}") from exc


def find_record(settings: Settings, key: str, *, prefer: str | None = None) -> BatchRecord | None:
    """The batch recorded for request hash ``key``: ``prefer`` when it matches, else the latest."""
    paths = sorted(batches_dir(settings).glob("*.json"), key=lambda p: p.stat().st_mtime)
    records = [BatchRecord.model_validate_json(p.read_text(encoding="utf-8")) for p in paths]
    matching = [record for record in records if record.request_hash == key]
    preferred = [record for record in matching if record.batch_id == prefer]
    chosen = preferred or matching
    return chosen[-1] if chosen else None


def _safe_id(batch_id: str) -> str:
    if not batch_id or not all(c.isalnum() or c in "_-" for c in batch_id):
        raise InputError(f"{batch_id!r} is not a batch id", "use the id Refinery printed")
    return batch_id


@contextmanager
def _sdk_errors(sdk: Any, name: str, key_env: str) -> Iterator[None]:
    """SDK exceptions as one-line ProviderErrors (``openai`` and ``anthropic`` share the names)."""
    try:
        yield
    except sdk.APIStatusError as exc:
        raise provider_error(name, key_env, exc.status_code, exc.message) from exc
    except sdk.APIConnectionError as exc:
        raise provider_error(name, key_env, None, str(exc)) from exc


class OpenAIBatch:
    """OpenAI's Batch API: a JSONL file of Chat Completions requests, uploaded then batched."""

    name = "openai"

    def __init__(self, client: Any, *, model: str) -> None:
        self.client = client
        self.model = model

    def submit(self, request: Request, custom_id: str) -> str:
        """Upload the one-line JSONL input file and create the batch."""
        import openai

        line = {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                "body": _chat_body(self.model, request)}  # fmt: skip
        content = (json.dumps(line) + "\n").encode("utf-8")
        with _sdk_errors(openai, self.name, "OPENAI_API_KEY"):
            upload = self.client.files.create(file=("refinery.jsonl", content), purpose="batch")
            batch = self.client.batches.create(
                input_file_id=upload.id, endpoint="/v1/chat/completions",
                completion_window="24h", metadata={"created_by": "refinery", "stage": custom_id},
            )  # fmt: skip
        return str(batch.id)

    def state(self, batch_id: str) -> BatchState:
        """``batches.retrieve``: status and request counts."""
        import openai

        with _sdk_errors(openai, self.name, "OPENAI_API_KEY"):
            batch = self.client.batches.retrieve(batch_id)
        counts = batch.request_counts
        failure = None
        if batch.status in ("failed", "expired", "cancelled"):
            errors = [e.message for e in (batch.errors.data or [])] if batch.errors else []
            failure = f"{batch.status}" + (f": {errors[0]}" if errors and errors[0] else "")
        return BatchState(
            status=batch.status, ended=batch.status in _OPENAI_ENDED, failure=failure,
            done=(counts.completed + counts.failed) if counts else 0,
            total=max(counts.total, 1) if counts else 1,
        )  # fmt: skip

    def result(self, batch_id: str) -> Completion:
        """Download the output (or error) file and read its one line."""
        import openai
        from openai.types.chat import ChatCompletion

        with _sdk_errors(openai, self.name, "OPENAI_API_KEY"):
            batch = self.client.batches.retrieve(batch_id)
            file_id = batch.output_file_id or batch.error_file_id
            if not file_id:
                raise ProviderError(f"openai batch {batch_id} ended without a result file")
            text = self.client.files.content(file_id).text
        entry = json.loads(next(line for line in text.splitlines() if line.strip()))
        response = entry.get("response") or {}
        if response.get("status_code") != 200:
            detail = (response.get("body") or {}).get("error") or entry.get("error") or {}
            raise provider_error(
                self.name, "OPENAI_API_KEY", response.get("status_code"),
                str(detail.get("message", detail)),
            )  # fmt: skip
        return _chat_completion(ChatCompletion.model_validate(response["body"]), self.model)


def _chat_body(model: str, request: Request) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "system", "content": request.system},
                     {"role": "user", "content": request.prompt}],
        "max_tokens": request.max_output_tokens,
        "response_format": {"type": "json_schema", "json_schema": {
            "name": request.schema_name, "schema": request.schema, "strict": False}},
    }  # fmt: skip
    if request.temperature is not None:
        body["temperature"] = request.temperature
    return body


def _chat_completion(response: Any, model: str) -> Completion:
    usage = response.usage
    text = response.choices[0].message.content if response.choices else ""
    return Completion(
        text=text or "", model=response.model or model,
        input_tokens=usage.prompt_tokens if usage else 0,
        output_tokens=usage.completion_tokens if usage else 0,
    )  # fmt: skip


class AnthropicBatch:
    """Anthropic's Message Batches: the forced-tool Messages request of ``AnthropicProvider``."""

    name = "anthropic"

    def __init__(self, client: Any, *, model: str) -> None:
        self.client = client
        self.model = model

    def submit(self, request: Request, custom_id: str) -> str:
        """``messages.batches.create`` with one request."""
        import anthropic

        params = {
            "model": self.model, "system": request.system, "max_tokens": request.max_output_tokens,
            "messages": [{"role": "user", "content": request.prompt}],
            "tools": [{"name": request.schema_name, "input_schema": request.schema,
                       "description": f"Submit the {request.schema_name}."}],
            "tool_choice": {"type": "tool", "name": request.schema_name},
        }  # fmt: skip
        with _sdk_errors(anthropic, self.name, "ANTHROPIC_API_KEY"):
            batch = self.client.messages.batches.create(
                requests=[{"custom_id": custom_id, "params": params}]
            )
        return str(batch.id)

    def state(self, batch_id: str) -> BatchState:
        """``messages.batches.retrieve``: processing status and request counts."""
        import anthropic

        with _sdk_errors(anthropic, self.name, "ANTHROPIC_API_KEY"):
            batch = self.client.messages.batches.retrieve(batch_id)
        counts = batch.request_counts
        done = counts.succeeded + counts.errored + counts.canceled + counts.expired
        return BatchState(
            status=batch.processing_status, ended=batch.processing_status == "ended",
            done=done, total=max(done + counts.processing, 1),
        )  # fmt: skip

    def result(self, batch_id: str) -> Completion:
        """``messages.batches.results``: the one result, or why it has none."""
        import anthropic

        with _sdk_errors(anthropic, self.name, "ANTHROPIC_API_KEY"):
            entries = list(self.client.messages.batches.results(batch_id))
        if not entries:
            raise ProviderError(f"anthropic batch {batch_id} ended without a result")
        result = entries[0].result
        if result.type != "succeeded":
            error = getattr(getattr(result, "error", None), "error", None)
            detail = f": {error.message}" if error is not None else ""
            raise ProviderError(
                f"anthropic batch {batch_id} request {result.type}{detail}",
                "run refinery analyze again",
            )
        message = result.message
        return Completion(
            text=_tool_answer(message.content), model=message.model or self.model,
            input_tokens=message.usage.input_tokens, output_tokens=message.usage.output_tokens,
        )  # fmt: skip


def _tool_answer(blocks: list[Any]) -> str:
    for block in blocks:
        if getattr(block, "type", None) == "tool_use":
            return json.dumps(block.input)
    return "".join(getattr(block, "text", "") for block in blocks)


def batch_backend(settings: Settings) -> BatchBackend:
    """The batch endpoints of the provider settings choose (its key and base URL checked)."""
    provider = make_provider(settings)
    client = getattr(provider, "client", None)
    if provider.name == "openai" and client is not None:
        return OpenAIBatch(client, model=provider.model)
    if provider.name == "anthropic" and client is not None:
        return AnthropicBatch(client, model=provider.model)
    raise ConfigError(
        f"--batch does not work with {provider.name}",
        f"use --provider {' or '.join(BATCH_PROVIDERS)}, or drop --batch",
    )


def analyze_batch(
    trace_ref: str | Path,
    *,
    project: str,
    expected: str,
    settings: Settings,
    options: AnalyzeOptions | None = None,
    on_progress: OnProgress = no_progress,
    sleep: Sleep = time.sleep,
) -> AnalysisResult:
    """``refinery analyze --batch``: the analysis with each LLM call as a batch, waited for."""
    from ..pipeline import AnalyzeOptions

    job = BatchJob(
        trace=_trace_reference(trace_ref), project=project, expected=expected,
        options=asdict(options or AnalyzeOptions()),
    )  # fmt: skip
    return _run(job, settings, None, on_progress, sleep)


def resume_batch(
    batch_id: str,
    settings: Settings,
    *,
    on_progress: OnProgress = no_progress,
    sleep: Sleep = time.sleep,
) -> AnalysisResult:
    """``refinery analyze --resume BATCH_ID``: finish the analysis that submitted ``batch_id``."""
    record = load_record(settings, batch_id)
    resumed = settings.with_overrides(provider=record.provider, model=record.model)
    return _run(record.job, resumed, batch_id, on_progress, sleep)


def _run(
    job: BatchJob, settings: Settings, resume: str | None, on_progress: OnProgress, sleep: Sleep
) -> AnalysisResult:
    from ..analysis.llm_analyst import LLMAnalyser
    from ..pipeline import analyze

    provider = BatchProvider(
        batch_backend(settings), settings, job, resume=resume, on_progress=on_progress, sleep=sleep
    )
    return analyze(
        job.trace, project=job.project, expected=job.expected, settings=settings,
        options=_options(job.options), analyser=LLMAnalyser(provider, settings),
        on_progress=on_progress,
    )  # fmt: skip


def _trace_reference(trace_ref: str | Path) -> str:
    """A file as its absolute path (resume may run elsewhere), an id as it is."""
    name, mark, select = str(trace_ref).partition("#")
    path = Path(name)
    return f"{path.resolve()}{mark}{select}" if path.is_file() else str(trace_ref)


def _options(raw: Mapping[str, Any]) -> AnalyzeOptions:
    from ..pipeline import AnalyzeOptions, ContextRequest

    return AnalyzeOptions(**{**raw, "context": ContextRequest(**raw.get("context", {}))})
