"""OpenAI's wire format over the official ``openai`` SDK: OpenAI, Azure and compatible servers.

OpenAI itself is called through the Responses API, directly and in batches (``responses_body`` is
both the request and a batch line's body); Azure and OpenAI-compatible servers (Ollama, vLLM...)
through Chat Completions, which they implement. Both ask for strict JSON-schema output, so the
provider guarantees the answer's shape. What a model accepts comes from ``catalog.call_plan``:
reasoning models get no ``temperature``, a ``reasoning`` effort when ``--reasoning`` is given, and
an output limit with room for their thinking; Chat Completions sends ``max_completion_tokens`` to
them (o-series models refuse ``max_tokens``). Retries with exponential backoff honouring
Retry-After are the SDK's own (``max_retries``).
"""

from __future__ import annotations

from typing import Any

from .catalog import CallPlan, call_plan
from .failures import check_answer, sdk_errors
from .provider import Completion, Request


class OpenAIProvider:
    """Structured calls through an injected ``openai.OpenAI`` (or ``AzureOpenAI``) client."""

    def __init__(
        self, client: Any, *, model: str, name: str = "openai", api: str = "responses",
        key_env: str = "OPENAI_API_KEY",
    ) -> None:  # fmt: skip
        self.client = client
        self.model = model
        self.name = name
        self.api = api
        self.key_env = key_env

    def complete(self, request: Request) -> Completion:
        """One structured call; SDK errors become ProviderErrors."""
        import openai

        with sdk_errors(openai, self.name, self.key_env):
            if self.api == "responses":
                response = self.client.responses.create(**responses_body(self.model, request))
                return responses_completion(response, self.model, self.name)
            response = self.client.chat.completions.create(**chat_body(self.model, request))
            return chat_completion(response, self.model, self.name)


def _plan(model: str, request: Request) -> CallPlan:
    return call_plan(
        model, reasoning=request.reasoning, answer_tokens=request.max_output_tokens,
        temperature=request.temperature,
    )  # fmt: skip


def responses_body(model: str, request: Request) -> dict[str, Any]:
    """The Responses API request body, as sent directly or inside a batch's JSONL line."""
    plan = _plan(model, request)
    body: dict[str, Any] = {
        "model": model,
        "instructions": request.system,
        "input": request.prompt,
        "max_output_tokens": plan.max_output_tokens,
        "text": {"format": {"type": "json_schema", "name": request.schema_name,
                            "schema": request.schema, "strict": True}},
    }  # fmt: skip
    if plan.temperature is not None:
        body["temperature"] = plan.temperature
    if plan.effort:
        body["reasoning"] = {"effort": plan.effort}
    return body


def responses_completion(response: Any, model: str, name: str) -> Completion:
    """A Responses API answer (an SDK ``Response``) as a Completion; an empty cut answer raises."""
    usage = response.usage
    details = getattr(usage, "output_tokens_details", None) if usage else None
    thinking = (getattr(details, "reasoning_tokens", 0) or 0) if details else 0
    text = response.output_text or ""
    reason = getattr(response.incomplete_details, "reason", None)
    check_answer(
        text, reason == "max_output_tokens", provider=name, model=model,
        limit=usage.output_tokens if usage else 0, thinking=thinking,
    )  # fmt: skip
    return Completion(
        text=text,
        model=response.model or model,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        thinking_tokens=thinking,
    )


def chat_body(model: str, request: Request) -> dict[str, Any]:
    """The Chat Completions request body (Azure, OpenAI-compatible servers)."""
    plan = _plan(model, request)
    reasoning_model = plan.facts.reasoning == "effort"
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "system", "content": request.system},
                     {"role": "user", "content": request.prompt}],
        "max_completion_tokens" if reasoning_model else "max_tokens": plan.max_output_tokens,
        "response_format": {"type": "json_schema", "json_schema": {
            "name": request.schema_name, "schema": request.schema, "strict": True}},
    }  # fmt: skip
    if plan.temperature is not None:
        body["temperature"] = plan.temperature
    if plan.effort:
        body["reasoning_effort"] = plan.effort
    return body


def chat_completion(response: Any, model: str, name: str) -> Completion:
    """A Chat Completions response (an SDK ``ChatCompletion``) as a Completion."""
    usage = response.usage
    details = getattr(usage, "completion_tokens_details", None) if usage else None
    thinking = (getattr(details, "reasoning_tokens", 0) or 0) if details else 0
    choice = response.choices[0] if response.choices else None
    text = (choice.message.content if choice else "") or ""
    check_answer(
        text, bool(choice and choice.finish_reason == "length"), provider=name, model=model,
        limit=usage.completion_tokens if usage else 0, thinking=thinking,
    )  # fmt: skip
    return Completion(
        text=text,
        model=response.model or model,
        input_tokens=usage.prompt_tokens if usage else 0,
        output_tokens=usage.completion_tokens if usage else 0,
        thinking_tokens=thinking,
    )
