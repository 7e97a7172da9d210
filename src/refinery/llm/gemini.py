"""Gemini over the official ``google-genai`` SDK, with native JSON-schema output.

Structured output uses ``response_mime_type="application/json"`` and ``response_json_schema``.
Gemini 2.5 and 3 think by default, and their thoughts are billed as output and use up
``max_output_tokens``: the limit keeps room for them, ``thoughts_token_count`` is counted, and an
empty answer cut at the limit is reported as such. ``--reasoning`` becomes ``thinking_budget``
(2.5) or ``thinking_level`` (3). A 429 carries ``RetryInfo.retryDelay``, which the SDK's own retry
ignores, so rate limits are retried here, after the delay the server asked for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from .catalog import CallPlan, call_plan
from .failures import check_answer, provider_error
from .provider import Completion, Request

RATE_LIMIT_RETRIES = 3
MAX_RETRY_DELAY_SECONDS = 60.0
DEFAULT_RETRY_DELAY_SECONDS = 2.0
_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class GeminiProvider:
    """Structured calls through an injected ``google.genai.Client``."""

    name = "gemini"

    def __init__(
        self, client: Any, *, model: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.client = client
        self.model = model
        self.sleep = sleep

    def complete(self, request: Request) -> Completion:
        """One generateContent call, rate limits retried; SDK errors become ProviderErrors."""
        from google.genai import errors

        plan = call_plan(
            self.model, reasoning=request.reasoning, answer_tokens=request.max_output_tokens,
            temperature=request.temperature,
        )  # fmt: skip
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                response = self.client.models.generate_content(
                    model=self.model, contents=request.prompt, config=_config(plan, request)
                )
                break
            except errors.APIError as exc:
                if exc.code != 429 or attempt == RATE_LIMIT_RETRIES:
                    raise provider_error(
                        self.name, "GEMINI_API_KEY", exc.code, _detail(exc)
                    ) from exc
                self.sleep(retry_delay(exc.details))
            except OSError as exc:
                raise provider_error(self.name, "GEMINI_API_KEY", None, str(exc)) from exc
        return self._completion(response, plan)

    def _completion(self, response: Any, plan: CallPlan) -> Completion:
        usage = response.usage_metadata
        thoughts = (usage.thoughts_token_count or 0) if usage else 0
        answer = (usage.candidates_token_count or 0) if usage else 0
        text = response.text or ""
        reasons = [str(c.finish_reason) for c in response.candidates or [] if c.finish_reason]
        check_answer(
            text, any("MAX_TOKENS" in reason for reason in reasons), provider=self.name,
            model=self.model, limit=plan.max_output_tokens, thinking=thoughts,
        )  # fmt: skip
        return Completion(
            text=text,
            model=response.model_version or self.model,
            input_tokens=(usage.prompt_token_count or 0) if usage else 0,
            output_tokens=answer + thoughts,
            thinking_tokens=thoughts,
        )


def _config(plan: CallPlan, request: Request) -> Any:
    from google.genai import types

    thinking = None
    if plan.effort and plan.facts.reasoning == "budget":
        thinking = types.ThinkingConfig(thinking_budget=plan.thinking_budget)
    elif plan.effort and plan.facts.reasoning == "level":
        thinking = types.ThinkingConfig(thinking_level=types.ThinkingLevel(plan.effort.upper()))
    return types.GenerateContentConfig(
        system_instruction=request.system,
        response_mime_type="application/json",
        response_json_schema=request.schema,
        max_output_tokens=plan.max_output_tokens,
        temperature=plan.temperature,
        thinking_config=thinking,
    )


def retry_delay(details: Any) -> float:
    """The ``RetryInfo.retryDelay`` of a Gemini error body (``"17s"``), bounded; a default else."""
    error = details.get("error", details) if isinstance(details, dict) else {}
    entries = error.get("details", []) if isinstance(error, dict) else []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and str(entry.get("@type", "")).endswith("RetryInfo"):
            match = _SECONDS.match(str(entry.get("retryDelay", "")))
            if match:
                return min(float(match.group(1)), MAX_RETRY_DELAY_SECONDS)
    return DEFAULT_RETRY_DELAY_SECONDS


def _detail(exc: Any) -> str:
    """Gemini's message, with the reason code (``API_KEY_INVALID``) that tells a bad key apart."""
    error = exc.details.get("error", {}) if isinstance(exc.details, dict) else {}
    entries = error.get("details", []) if isinstance(error, dict) else []
    reasons = [str(e["reason"]) for e in entries if isinstance(e, dict) and e.get("reason")]
    message = str(exc.message or exc.status or "no detail")
    return f"{message} ({', '.join(reasons)})" if reasons else message
