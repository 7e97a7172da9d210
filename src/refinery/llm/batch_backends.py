"""The vendors' batch endpoints behind ``--batch``: OpenAI's Batch API, Anthropic's Message Batches.

``BatchBackend`` is what ``batch.py`` needs of a vendor: submit a one-request batch, read its state,
fetch its one answer. Each backend sends exactly the request its direct provider sends
(``openai.responses_body`` to ``/v1/responses``, ``anthropic.message_params``) and reads the answer
the same way, so a model that works directly works in a batch; only the envelope differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import Settings
from ..errors import ConfigError, ProviderError
from .anthropic import message_completion, message_params
from .failures import provider_error, sdk_errors
from .openai import responses_body, responses_completion
from .provider import Completion, Request, detect_provider, make_provider

BATCH_PROVIDERS = ("openai", "anthropic")
_OPENAI_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
_RESPONSES = "/v1/responses"


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


class OpenAIBatch:
    """OpenAI's Batch API: a JSONL file of Responses API requests, uploaded then batched."""

    name = "openai"

    def __init__(self, client: Any, *, model: str) -> None:
        self.client = client
        self.model = model

    def submit(self, request: Request, custom_id: str) -> str:
        """Upload the one-line JSONL input file and create the batch."""
        import openai

        line = {"custom_id": custom_id, "method": "POST", "url": _RESPONSES,
                "body": responses_body(self.model, request)}  # fmt: skip
        content = (json.dumps(line) + "\n").encode("utf-8")
        with sdk_errors(openai, self.name, "OPENAI_API_KEY"):
            upload = self.client.files.create(file=("refinery.jsonl", content), purpose="batch")
            batch = self.client.batches.create(
                input_file_id=upload.id, endpoint=_RESPONSES,
                completion_window="24h", metadata={"created_by": "refinery", "stage": custom_id},
            )  # fmt: skip
        return str(batch.id)

    def state(self, batch_id: str) -> BatchState:
        """``batches.retrieve``: status and request counts."""
        import openai

        with sdk_errors(openai, self.name, "OPENAI_API_KEY"):
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
        from openai.types.responses import Response

        with sdk_errors(openai, self.name, "OPENAI_API_KEY"):
            batch = self.client.batches.retrieve(batch_id)
            file_id = batch.output_file_id or batch.error_file_id
            if not file_id:
                raise ProviderError(
                    f"openai batch {batch_id} ended without a result file",
                    "run refinery analyze again",
                )
            text = self.client.files.content(file_id).text
        entry = json.loads(next(line for line in text.splitlines() if line.strip()))
        response = entry.get("response") or {}
        if response.get("status_code") != 200:
            detail = (response.get("body") or {}).get("error") or entry.get("error") or {}
            message = detail.get("message", detail) if isinstance(detail, dict) else detail
            raise provider_error(
                self.name, "OPENAI_API_KEY", response.get("status_code"), str(message)
            )
        # Built leniently, as the SDK builds every answer it receives: new usage fields are fine.
        answer = Response.construct(**response["body"])
        return responses_completion(answer, self.model, self.name)


class AnthropicBatch:
    """Anthropic's Message Batches: the forced-tool Messages request of ``AnthropicProvider``."""

    name = "anthropic"

    def __init__(self, client: Any, *, model: str) -> None:
        self.client = client
        self.model = model

    def submit(self, request: Request, custom_id: str) -> str:
        """``messages.batches.create`` with one request."""
        import anthropic

        params = message_params(self.model, request)
        with sdk_errors(anthropic, self.name, "ANTHROPIC_API_KEY"):
            batch = self.client.messages.batches.create(
                requests=[{"custom_id": custom_id, "params": params}]
            )
        return str(batch.id)

    def state(self, batch_id: str) -> BatchState:
        """``messages.batches.retrieve``: processing status and request counts."""
        import anthropic

        with sdk_errors(anthropic, self.name, "ANTHROPIC_API_KEY"):
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

        with sdk_errors(anthropic, self.name, "ANTHROPIC_API_KEY"):
            entries = list(self.client.messages.batches.results(batch_id))
        if not entries:
            raise ProviderError(
                f"anthropic batch {batch_id} ended without a result", "run refinery analyze again"
            )
        result = entries[0].result
        if result.type != "succeeded":
            error = getattr(getattr(result, "error", None), "error", None)
            detail = f": {error.message}" if error is not None else ""
            raise ProviderError(
                f"anthropic batch {batch_id} request {result.type}{detail}",
                "run refinery analyze again",
            )
        return message_completion(result.message, self.model)


def batch_backend(settings: Settings) -> BatchBackend:
    """The batch endpoints of the provider settings choose (its key and base URL checked)."""
    if (settings.provider or detect_provider(settings) or "offline") == "offline":
        raise ConfigError(
            "--batch sends the analysis to an LLM's batch API, and no LLM provider is chosen",
            "set OPENAI_API_KEY or ANTHROPIC_API_KEY, or drop --batch",
        )
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
