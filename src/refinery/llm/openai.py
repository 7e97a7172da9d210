"""OpenAI's wire format over the official ``openai`` SDK: OpenAI, Azure and compatible servers.

OpenAI itself is called through the Responses API; Azure and OpenAI-compatible servers (Ollama,
vLLM...) through Chat Completions, which they implement. Both ask for JSON-schema structured output
natively. Retries with exponential backoff honouring Retry-After are the SDK's own
(``max_retries``).
"""

from __future__ import annotations

from typing import Any

from .failures import sdk_errors
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
                return self._responses(request)
            return self._chat(request)

    def _responses(self, request: Request) -> Completion:
        options: dict[str, Any] = {}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        response = self.client.responses.create(
            model=self.model,
            instructions=request.system,
            input=request.prompt,
            max_output_tokens=request.max_output_tokens,
            text={"format": {"type": "json_schema", "name": request.schema_name,
                             "schema": request.schema, "strict": False}},
            **options,
        )  # fmt: skip
        usage = response.usage
        return Completion(
            text=response.output_text or "",
            model=response.model or self.model,
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
        )

    def _chat(self, request: Request) -> Completion:
        response = self.client.chat.completions.create(**chat_body(self.model, request))
        return chat_completion(response, self.model)


def chat_body(model: str, request: Request) -> dict[str, Any]:
    """The Chat Completions request body, as sent directly or inside a batch's JSONL line."""
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


def chat_completion(response: Any, model: str) -> Completion:
    """A Chat Completions response (an SDK ``ChatCompletion``) as a Completion."""
    usage = response.usage
    text = response.choices[0].message.content if response.choices else ""
    return Completion(
        text=text or "",
        model=response.model or model,
        input_tokens=usage.prompt_tokens if usage else 0,
        output_tokens=usage.completion_tokens if usage else 0,
    )
