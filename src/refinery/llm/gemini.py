"""Gemini over the official ``google-genai`` SDK, with native JSON-schema output.

Structured output uses ``response_mime_type="application/json"`` and ``response_json_schema``.
"""

from __future__ import annotations

from typing import Any

from .failures import provider_error
from .provider import Completion, Request


class GeminiProvider:
    """Structured calls through an injected ``google.genai.Client``."""

    name = "gemini"

    def __init__(self, client: Any, *, model: str) -> None:
        self.client = client
        self.model = model

    def complete(self, request: Request) -> Completion:
        """One generateContent call; SDK errors become ProviderErrors."""
        from google.genai import errors, types

        config = types.GenerateContentConfig(
            system_instruction=request.system,
            response_mime_type="application/json",
            response_json_schema=request.schema,
            max_output_tokens=request.max_output_tokens,
            temperature=request.temperature,
        )
        try:
            response = self.client.models.generate_content(
                model=self.model, contents=request.prompt, config=config
            )
        except errors.APIError as exc:
            raise provider_error(self.name, "GEMINI_API_KEY", exc.code, str(exc.message)) from exc
        except OSError as exc:
            raise provider_error(self.name, "GEMINI_API_KEY", None, str(exc)) from exc
        usage = response.usage_metadata
        return Completion(
            text=response.text or "",
            model=response.model_version or self.model,
            input_tokens=(usage.prompt_token_count or 0) if usage else 0,
            output_tokens=(usage.candidates_token_count or 0) if usage else 0,
        )
