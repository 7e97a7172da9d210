"""Anthropic Messages over the official ``anthropic`` SDK.

Structured output uses the native mechanism every Claude model supports: one tool whose
``input_schema`` is the answer's JSON schema, forced with ``tool_choice``; the tool call's input is
the answer.
"""

from __future__ import annotations

import json
from typing import Any

from .failures import sdk_errors
from .provider import Completion, Request


class AnthropicProvider:
    """Structured calls through an injected ``anthropic.Anthropic`` client."""

    name = "anthropic"

    def __init__(self, client: Any, *, model: str) -> None:
        self.client = client
        self.model = model

    def complete(self, request: Request) -> Completion:
        """One forced-tool call; SDK errors become ProviderErrors."""
        import anthropic

        with sdk_errors(anthropic, self.name, "ANTHROPIC_API_KEY"):
            message = self.client.messages.create(**message_params(self.model, request))
        return message_completion(message, self.model)


def message_params(model: str, request: Request) -> dict[str, Any]:
    """The forced-tool Messages request, as sent directly or inside a message batch."""
    return {
        "model": model,
        "system": request.system,
        "max_tokens": request.max_output_tokens,
        "messages": [{"role": "user", "content": request.prompt}],
        "tools": [{"name": request.schema_name, "input_schema": request.schema,
                   "description": f"Submit the {request.schema_name}."}],
        "tool_choice": {"type": "tool", "name": request.schema_name},
    }  # fmt: skip


def message_completion(message: Any, model: str) -> Completion:
    """An SDK ``Message`` as a Completion: the forced tool's input is the answer."""
    return Completion(
        text=_answer(message.content),
        model=message.model or model,
        input_tokens=message.usage.input_tokens,
        output_tokens=message.usage.output_tokens,
    )


def _answer(blocks: list[Any]) -> str:
    for block in blocks:
        if getattr(block, "type", None) == "tool_use":
            return json.dumps(block.input)
    return "".join(getattr(block, "text", "") for block in blocks)
