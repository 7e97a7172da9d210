"""Batch mode (``--batch``): the analysis through OpenAI's Batch API or Anthropic's Message Batches.

Batches cost half as much and may take minutes to hours, so each LLM call of the analysis becomes a
one-request batch. ``BatchProvider`` implements the ordinary ``complete(request)``: it submits the
request, polls the batch with growing pauses (reporting progress through ``on_progress``), downloads
the result and returns it as a Completion, so ``LLMAnalyser`` runs unchanged on top of it.

Every submitted batch is recorded in ``.refinery/batches/<batch_id>.json``: the provider and model,
the stage (``diagnosis``, ``hypotheses``), a hash of the exact request, the analysis inputs (trace
reference, project, expected behaviour, options) and, once fetched, the answer.

How resume works. Up to the LLM calls the analysis is deterministic: the same trace, files and
options give byte-identical (redacted) requests. ``pipeline.resume_batch(batch_id)`` re-runs the
analysis with the record's inputs, provider and model, and ``BatchProvider`` answers each request
from the records first: a recorded answer is reused, a pending batch is polled (not resubmitted).
Interrupted during the diagnosis batch, resuming polls it, then submits the hypotheses; interrupted
during the hypotheses, it reuses the diagnosis and polls the hypothesis batch. If the trace or files
changed since, the resumed batch matches no request and resuming stops with an error instead of
paying for a new analysis silently.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..config import Settings
from ..errors import InputError, ProviderError
from ..progress import OnProgress, ProgressEvent, no_progress
from .batch_backends import BatchBackend, BatchState
from .provider import Completion, Request

BATCH_PRICE_FACTOR = 0.5
FIRST_POLL_SECONDS = 5.0
MAX_POLL_SECONDS = 60.0
_FROZEN = ConfigDict(frozen=True, extra="forbid")

Sleep = Callable[[float], None]


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
    reasoning: str | None = None
    """``--reasoning`` as submitted, so a resumed analysis sends the same requests."""


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
            reasoning=request.reasoning,
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
    from ..atomic import write_atomic

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
