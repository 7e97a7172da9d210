"""Sending a recorded call (or a variant of it) to the agent's model through the official SDK.

One ``Replayer`` per vendor wire: OpenAI Chat Completions (OpenAI, Azure, OpenAI-compatible
servers), Anthropic Messages and Gemini ``generateContent``. Clients take an injectable base URL
and use the same retry and backoff as the analysis calls (the SDKs' own, honouring Retry-After).
Tools are never executed: a tool call in the answer is part of the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..llm.factories import MAX_RETRIES, TIMEOUT_SECONDS
from ..llm.failures import provider_error, sdk_errors
from ..traces.model import Message, ToolCall
from .agent import AgentTarget
from .call import RecordedCall, answer_text
from .wire import anthropic_messages, gemini_contents, gemini_tools, openai_chat


@dataclass(frozen=True, kw_only=True)
class Reply:
    """The agent model's answer to one replayed call."""

    text: str
    """Text and tool calls, as the judge reads them."""
    model: str
    input_tokens: int = 0
    output_tokens: int = 0


class Replayer(Protocol):
    """Sends a recorded call to the agent's model."""

    target: AgentTarget

    def send(self, call: RecordedCall) -> Reply:
        """One replay; SDK errors become ProviderErrors."""
        ...


def make_replayer(target: AgentTarget) -> Replayer:
    """The replayer for the target's provider, with its SDK client built here."""
    if target.provider == "anthropic":
        return AnthropicReplayer(target)
    if target.provider == "gemini":
        return GeminiReplayer(target)
    return OpenAIReplayer(target)


class OpenAIReplayer:
    """Chat Completions through ``openai.OpenAI`` (or ``AzureOpenAI``)."""

    def __init__(self, target: AgentTarget) -> None:
        import openai

        self.target = target
        common: dict[str, Any] = {
            "api_key": target.api_key, "max_retries": MAX_RETRIES, "timeout": TIMEOUT_SECONDS,
        }  # fmt: skip
        if target.provider == "azure":
            self.client: Any = openai.AzureOpenAI(
                azure_endpoint=target.base_url or "", api_version="2024-10-21", **common
            )
        else:
            self.client = openai.OpenAI(base_url=target.base_url, **common)

    def send(self, call: RecordedCall) -> Reply:
        """One Chat Completions call."""
        import openai

        with sdk_errors(openai, self.target.provider, self.target.key_env):
            response = self.client.chat.completions.create(
                **openai_chat(call, call.model or self.target.model)
            )
        message = response.choices[0].message if response.choices else None
        calls = tuple(
            ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "")
            for c in (message.tool_calls or []) if getattr(c, "function", None)
        ) if message else ()  # fmt: skip
        text = answer_text(
            (
                Message(
                    role="assistant",
                    content=(message.content if message else "") or "",
                    tool_calls=calls,
                ),
            )
        )
        usage = response.usage
        return Reply(
            text=text,
            model=response.model or self.target.model,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        )


class AnthropicReplayer:
    """Messages through ``anthropic.Anthropic``."""

    def __init__(self, target: AgentTarget) -> None:
        import anthropic

        self.target = target
        self.client = anthropic.Anthropic(
            api_key=target.api_key, base_url=target.base_url, max_retries=MAX_RETRIES,
            timeout=TIMEOUT_SECONDS,
        )  # fmt: skip

    def send(self, call: RecordedCall) -> Reply:
        """One Messages call."""
        import anthropic

        with sdk_errors(anthropic, "anthropic", self.target.key_env):
            message = self.client.messages.create(
                **anthropic_messages(call, call.model or self.target.model)
            )
        calls = tuple(
            ToolCall(id=b.id, name=b.name, arguments=_json(b.input))
            for b in message.content if b.type == "tool_use"
        )  # fmt: skip
        text = "".join(b.text for b in message.content if b.type == "text")
        return Reply(
            text=answer_text((Message(role="assistant", content=text, tool_calls=calls),)),
            model=message.model or self.target.model,
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
        )


class GeminiReplayer:
    """``generateContent`` through ``google.genai.Client``."""

    def __init__(self, target: AgentTarget) -> None:
        from google import genai
        from google.genai import types

        self.target = target
        retry = types.HttpRetryOptions(
            attempts=MAX_RETRIES + 1, http_status_codes=[429, 500, 502, 503, 504]
        )
        options = types.HttpOptions(
            base_url=target.base_url, timeout=int(TIMEOUT_SECONDS * 1000), retry_options=retry
        )
        self.client = genai.Client(api_key=target.api_key, http_options=options)

    def send(self, call: RecordedCall) -> Reply:
        """One generateContent call."""
        from google.genai import errors, types

        system, contents = gemini_contents(call)
        config = types.GenerateContentConfig(
            system_instruction=system,
            tools=gemini_tools(call) or None,
            temperature=call.temperature,
            max_output_tokens=call.max_tokens,
        )
        try:
            response = self.client.models.generate_content(
                model=call.model or self.target.model,
                contents=contents,
                config=config,
            )
        except errors.APIError as exc:
            raise provider_error("gemini", self.target.key_env, exc.code, str(exc.message)) from exc
        except OSError as exc:
            raise provider_error("gemini", self.target.key_env, None, str(exc)) from exc
        return _gemini_reply(response, self.target.model)


def _gemini_reply(response: Any, model: str) -> Reply:
    parts = (
        response.candidates[0].content.parts or []
        if response.candidates and response.candidates[0].content
        else []
    )
    text = "".join(p.text for p in parts if p.text)
    calls = tuple(
        ToolCall(name=p.function_call.name or "", arguments=_json(p.function_call.args or {}))
        for p in parts
        if p.function_call
    )
    usage = response.usage_metadata
    return Reply(
        text=answer_text((Message(role="assistant", content=text, tool_calls=calls),)),
        model=response.model_version or model,
        input_tokens=(usage.prompt_token_count or 0) if usage else 0,
        output_tokens=(usage.candidates_token_count or 0) if usage else 0,
    )


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
